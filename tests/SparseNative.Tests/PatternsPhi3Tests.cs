using Xunit;
using static SparseNative.Tests.PatternsGrid;

namespace SparseNative.Tests;

/// <summary>Phi-3-small's local + vertical-stride layout against ONNX Runtime's formula, cell by cell.</summary>
public class PatternsPhi3Tests
{
    // ORT get_block_mask: (q ≥ k) & ((q − k < local) | ((k + h·max(1, stride // layouts) + 1) % stride == 0)).
    private static bool Formula(int h, int q, int k, int local, int stride, int layouts) =>
        q >= k && (q - k < local || (k + h * Math.Max(1, stride / layouts) + 1) % stride == 0);

    [Fact]
    public void Strided_matches_the_formula()
    {
        foreach (int length in Lengths)
            foreach (int bs in new[] { 16, 64 })
                foreach (var (local, stride) in new[] { (0, 1), (1, 2), (2, 3), (4, 8), (16, 8), (3, 5) })
                    foreach (int layouts in new[] { 1, 2, 3, 4, 16 })
                    {
                        int nb = Blocks(length, bs);
                        var layout = BlockPatterns.Strided(length, bs, local, stride, layouts);
                        AssertMatches(layout, layouts, nb, nb, (h, q, k) => Formula(h, q, k, local, stride, layouts),
                            $"Strided({length}, {bs}, {local}, {stride}, {layouts})");
                    }
    }

    [Fact]
    public void Phi3Small_is_local_16_stride_8_block_64()
    {
        int length = 64 * 40 + 5;   // 41 blocks, the last one partial
        var layout = BlockPatterns.Phi3Small(length, 4);
        Assert.Equal(64, layout.BlockSize);
        AssertMatches(layout, 4, 41, 41, (h, q, k) => Formula(h, q, k, 16, 8, 4), "Phi3Small");
        Assert.Equal(BlockPatterns.Strided(length, 64, 16, 8, 4), layout);
        Assert.Equal(1, BlockPatterns.Phi3Small(1).LayoutCount);
    }

    [Fact]
    public void Strided_hand_checked()
    {
        // 6 blocks, local 2, stride 3, 2 layouts: step max(1, 3 / 2) = 1. List 0's stride columns are k ≡ 2 (mod 3): 2, 5;
        // list 1's are k ≡ 1 (mod 3): 1, 4. Only k ≤ q.
        var layout = BlockPatterns.Strided(6 * 16, 16, 2, 3, 2);
        AssertPicture(layout, 0, "#.....", "##....", ".##...", "..##..", "..###.", "..#.##");
        AssertPicture(layout, 1, "#.....", "##....", ".##...", ".###..", ".#.##.", ".#..##");
    }
}
