using Xunit;
using static SparseNative.Tests.PatternsGrid;

namespace SparseNative.Tests;

/// <summary>DeepSpeed's Fixed pattern against its written definition, hand-drawn examples and DeepSpeed's error conditions.</summary>
public class PatternsFixedTests
{
    // The documented global starts of pattern p: s = w·nl + f for full windows, then the moved last start.
    private static List<int> GlobalStarts(int nb, int nl, int g, int p)
    {
        int f = nl - (1 + p) * g;
        var starts = new List<int>();
        for (int w = 0; w < nb / nl; w++) starts.Add(w * nl + f);
        if (nb % nl != 0) starts.Add(Math.Max(0, Math.Min(nb / nl * nl + f, nb - g)));
        return starts;
    }

    private static bool Formula(int nb, int nl, int g, bool uni, bool horizontal, int patterns, int h, int r, int c)
    {
        var starts = GlobalStarts(nb, nl, g, h % patterns);
        bool local = r / nl == c / nl && (!uni || c <= r);
        bool vertical = starts.Any(s => c >= s && c < s + g && (!uni || r >= s));
        bool horiz = horizontal && starts.Any(s => r >= s && r < s + g);
        return local || vertical || horiz;
    }

    [Fact]
    public void Fixed_matches_the_definition()
    {
        foreach (int length in Lengths)
            foreach (var (nl, g) in new[] { (4, 1), (4, 2), (4, 4), (3, 1), (6, 2), (1, 1) })
                foreach (bool uni in new[] { false, true })
                    foreach (bool horizontal in uni ? new[] { false } : new[] { false, true })
                        foreach (var (patterns, heads) in new[] { (1, 1), (1, 3), (nl / g, Math.Max(2, nl / g)), (nl / g, 5) })
                        {
                            if (patterns > 1 && heads == 1) continue;
                            int nb = Blocks(length, 16);
                            int lists = patterns > 1 ? heads : 1;
                            var layout = BlockPatterns.Fixed(length, 16, nl, g, uni, horizontal, patterns, heads);
                            AssertMatches(layout, lists, nb, nb, (h, r, c) => Formula(nb, nl, g, uni, horizontal, patterns, h, r, c),
                                $"Fixed({length}, nl {nl}, g {g}, uni {uni}, horizontal {horizontal}, P {patterns}, heads {heads})");
                        }
    }

    [Fact]
    public void Fixed_unidirectional_short_last_window_hand_checked()
    {
        // nb = 6, nl = 4, g = 2, unidirectional: f = 2. Window [0, 4) has global columns [2, 4) from row 2 on; the short window
        // [4, 6) gets start min(4 + 2, 6 − 2) = 4, so columns [4, 6) from row 4 on. Blocks (2, 3) and (4, 5) lie above the diagonal.
        AssertPicture(BlockPatterns.Fixed(6 * 16, 16, 4, 2, unidirectional: true), 0,
            "#.....",
            "##....",
            "####..",
            "####..",
            "..####",
            "..####");
    }

    [Fact]
    public void Fixed_horizontal_hand_checked()
    {
        // nb = 6, nl = 4, g = 1, bidirectional + horizontal: f = 3; starts 3 and min(4 + 3, 5) = 5. Columns 3 and 5 for all rows,
        // rows 3 and 5 attend everything.
        AssertPicture(BlockPatterns.Fixed(6 * 16, 16, 4, 1, horizontalGlobalAttention: true), 0,
            "####.#",
            "####.#",
            "####.#",
            "######",
            "...###",
            "######");
    }

    [Fact]
    public void Fixed_different_patterns_per_head_hand_checked()
    {
        // nb = 4, nl = 4, g = 1, P = 2, 2 heads: head 0's global column is 3, head 1's is 2.
        var layout = BlockPatterns.Fixed(64, 16, 4, 1, numDifferentGlobalPatterns: 2, heads: 2);
        AssertPicture(layout, 0, "####", "####", "####", "####");
        layout = BlockPatterns.Fixed(8 * 16, 16, 4, 1, numDifferentGlobalPatterns: 2, heads: 2);
        AssertPicture(layout, 0, "####...#", "####...#", "####...#", "####...#", "...#####", "...#####", "...#####", "...#####");
        AssertPicture(layout, 1, "####..#.", "####..#.", "####..#.", "####..#.", "..#.####", "..#.####", "..#.####", "..#.####");
    }

    [Theory]
    [InlineData(4, 3, false, false, 1, 1, "numGlobalBlocks")]        // DeepSpeed: num_local_blocks % num_global_blocks != 0
    [InlineData(4, 1, true, true, 1, 1, "horizontalGlobalAttention")] // DeepSpeed: horizontal needs bidirectional
    [InlineData(4, 2, false, false, 3, 4, "numDifferentGlobalPatterns")] // DeepSpeed: patterns > nl / g
    [InlineData(4, 1, false, false, 2, 1, "heads")]                  // DeepSpeed: several patterns need different_layout_per_head
    [InlineData(0, 1, false, false, 1, 1, "numLocalBlocks")]
    [InlineData(4, 0, false, false, 1, 1, "numGlobalBlocks")]
    [InlineData(4, 1, false, false, 0, 1, "numDifferentGlobalPatterns")]
    [InlineData(4, 1, false, false, 1, 0, "heads")]
    public void Fixed_rejects_what_DeepSpeed_rejects(int nl, int g, bool uni, bool horizontal, int patterns, int heads, string param)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => BlockPatterns.Fixed(256, 16, nl, g, uni, horizontal, patterns, heads));
        Assert.Equal(param, ex.ParamName);
    }
}
