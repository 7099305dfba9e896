using Xunit;

namespace SparseNative.Tests;

/// <summary>
/// Million-token layouts build row by row without touching the 16384 × 16384 block grid (a dense grid would be 268M cells).
/// Time is not asserted (the machine is shared); these finish in well under a second when the builders are row-wise.
/// </summary>
public class PatternsLargeTests
{
    private const int Tokens = 1 << 20, Block = 64, Nb = Tokens / Block;

    [Fact]
    public void LocalWindow_over_a_million_tokens()
    {
        const int w = 4;
        var layout = BlockPatterns.LocalWindow(Tokens, Block, w);
        Assert.Equal(Nb, layout.QueryBlocks);
        // 2w + 1 per row, minus the blocks clipped at both ends (1 + 2 + … + w on each side).
        Assert.Equal((long)Nb * (2 * w + 1) - w * (w + 1), layout.ActiveBlocks);
        Assert.Equal([0, 1, 2, 3, 4], layout.Row(0, 0).ToArray());
        Assert.Equal([9996, 9997, 9998, 9999, 10000, 10001, 10002, 10003, 10004], layout.Row(0, 10000).ToArray());

        var causal = BlockPatterns.LocalWindow(Tokens, Block, w, causal: true);
        Assert.Equal((long)Nb * (w + 1) - w * (w + 1) / 2, causal.ActiveBlocks);
        Assert.Equal([Nb - 5, Nb - 4, Nb - 3, Nb - 2, Nb - 1], causal.Row(0, Nb - 1).ToArray());
    }

    [Fact]
    public void Phi3Small_over_a_million_tokens()
    {
        var layout = BlockPatterns.Phi3Small(Tokens, 2);
        Assert.Equal(2, layout.LayoutCount);
        // Row q of list h: min(q + 1, 16) local blocks plus the stride columns k ≤ q − 16 with (k + 4h + 1) % 8 == 0.
        for (int h = 0; h < 2; h++)
        {
            long expected = 0;
            for (int q = 0; q < Nb; q++)
            {
                expected += Math.Min(q + 1, 16);
                int first = ((-(4 * h + 1)) % 8 + 8) % 8;
                if (q - 16 >= first) expected += (q - 16 - first) / 8 + 1;
            }
            Assert.Equal(expected, layout.ActiveBlocksInList(h));
        }
    }
}
