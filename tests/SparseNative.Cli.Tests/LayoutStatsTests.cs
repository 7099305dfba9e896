using Xunit;
using SparseNative.Cli.Commands;

namespace SparseNative.Cli.Tests;

/// <summary>The numbers <c>layout</c> prints, on layouts small enough to count by hand.</summary>
public sealed class LayoutStatsTests
{
    [Fact]
    public void Stats_of_a_hand_made_layout()
    {
        // 3 × 3 blocks of 16 over 40 tokens (last block has 8), rows with 1, 0 and 3 blocks.
        var layout = BlockLayout.FromPredicate(16, 3, 3, 1, (_, r, c) => r == 0 ? c == 0 : r == 2);
        var shape = AttentionShape.SelfAttention(1, 2, 40, 8);
        var s = LayoutStats.Compute(layout, shape, causal: false);
        Assert.Equal(4, s.ActiveBlocks);
        Assert.Equal(4 / 9.0, s.Density, 12);
        Assert.Equal(0, s.RowMin);
        Assert.Equal(3, s.RowMax);
        Assert.Equal(4 / 3.0, s.RowMean, 12);
        Assert.Equal(1, s.EmptyRows);
        // Pairs: row 0: 16×16; row 2: 8 queries × 40 keys. Two heads, 4·d flops each.
        Assert.Equal(2 * (16 * 16 + 8 * 40) * 32.0, s.Flops);
        Assert.Equal(2 * 40 * 40 * 32.0, s.DenseFlops);
    }

    [Fact]
    public void Layout_command_prints_the_stats()
    {
        var r = Cli.Run("layout", "dense", "--seq", "100", "--block", "16", "--heads", "2");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("7 × 7 of 16 tokens", r.Out);
        Assert.Contains("49", r.Out);
        Assert.Contains("100.00 % of dense", r.Out);
    }
}
