using Xunit;

namespace SparseNative.Tests;

public class AttentionCostTests
{
    [Theory]
    [InlineData(50, 50, false)] [InlineData(50, 50, true)] [InlineData(33, 70, true)] [InlineData(70, 33, true)]
    public void ActivePairsCountsAllowedPairsOneByOne(int lq, int lk, bool causal)
    {
        var s = new AttentionShape(2, 4, 2, lq, lk, 8);
        var layout = TestData.RandomLayout(16, s.QueryBlocks(16), s.KeyBlocks(16), 2, 0.5, lq + lk);
        long expected = 0;
        for (int h = 0; h < 4; h++)
            for (int i = 0; i < lq; i++)
                for (int j = 0; j < lk; j++)
                    if (layout.Contains(h, i / 16, j / 16) && (!causal || j <= i + lk - lq)) expected++;
        Assert.Equal(2 * expected, AttentionCost.ActivePairs(s, layout, causal));
        Assert.Equal(4.0 * 8 * 2 * expected, AttentionCost.Flops(s, layout, causal));
    }

    [Fact]
    public void DensePairsOfADenseLayoutMatch()
    {
        var s = new AttentionShape(1, 2, 2, 40, 72, 8);
        var dense = BlockLayout.FromPredicate(16, 3, 5, 1, (_, _, _) => true);
        Assert.Equal(AttentionCost.DensePairs(s, false), AttentionCost.ActivePairs(s, dense, false));
        Assert.Equal(AttentionCost.DensePairs(s, true), AttentionCost.ActivePairs(s, dense, true));
    }
}
