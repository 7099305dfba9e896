using Xunit;
using static SparseNative.Tests.PatternsGrid;

namespace SparseNative.Tests;

/// <summary>DeepSpeed's Variable, BigBird and BSLongformer patterns against their written definitions.</summary>
public class PatternsDeepSpeedTests
{
    // ---- Variable ----

    // The window containing block r: consecutive windows of the listed sizes, the last size repeating.
    private static (int Start, int Size) WindowOf(int r, int[] sizes)
    {
        int start = 0;
        for (int i = 0; ; i++)
        {
            int size = sizes[Math.Min(i, sizes.Length - 1)];
            if (r < start + size) return (start, size);
            start += size;
        }
    }

    private static bool VariableFormula(int nb, int random, int[] windows, (int S, int E)[] global, bool uni, bool horizontal,
        int seed, int h, int r, int c)
    {
        var (ws, wsize) = WindowOf(r, windows);
        var (cs, _) = WindowOf(c, windows);
        bool local = ws == cs && c < Math.Min(nb, ws + wsize) && (!uni || c <= r);
        bool vertical = global.Any(g => g.S < nb && c >= g.S && c < Math.Min(g.E, nb) && (!uni || r >= g.S));
        bool horiz = horizontal && global.Any(g => g.S < nb && r >= g.S && r < Math.Min(g.E, nb));
        bool rnd = PatternsRandomSpec.Picks(seed, h, r, uni ? r + 1 : nb, random).Contains(c);
        return local || vertical || horiz || rnd;
    }

    [Fact]
    public void Variable_matches_the_definition()
    {
        var windowSets = new[] { new[] { 4 }, new[] { 1, 2 }, new[] { 3, 1, 5 }, new[] { 2, 7 } };
        var globalSets = new (int[] Starts, int[]? Ends)[] { ([0], null), ([], null), ([1, 5, 40], null), ([2, 9], [4, 12]), ([0], [100]) };
        foreach (int length in new[] { 1, 17, 100, 161, 333 })
            foreach (var windows in windowSets)
                foreach (var (starts, ends) in globalSets)
                    foreach (bool uni in new[] { false, true })
                        foreach (bool horizontal in uni ? new[] { false } : new[] { false, true })
                            foreach (var (random, heads) in new[] { (0, 1), (0, 4), (1, 1), (2, 3), (50, 2) })
                            {
                                int nb = Blocks(length, 16);
                                var global = starts.Select((s, i) => (s, ends is null ? s + 1 : ends[i])).ToArray();
                                var layout = BlockPatterns.Variable(length, 16, random, windows, starts, ends, uni, horizontal, heads, seed: 7);
                                AssertMatches(layout, random > 0 ? heads : 1, nb, nb,
                                    (h, r, c) => VariableFormula(nb, random, windows, global, uni, horizontal, 7, h, r, c),
                                    $"Variable({length}, r {random}, windows [{string.Join(',', windows)}], globals [{string.Join(',', starts)}], uni {uni}, horizontal {horizontal}, heads {heads})");
                            }
    }

    [Fact]
    public void Variable_hand_checked()
    {
        // 7 blocks, windows [1, 2] then 2 repeating: [0,1) [1,3) [3,5) [5,7); global block 0, horizontal.
        AssertPicture(BlockPatterns.Variable(7 * 16, 16, 0, [1, 2], [0], horizontalGlobalAttention: true), 0,
            "#######", "###....", "###....", "#..##..", "#..##..", "#....##", "#....##");
        // Unidirectional, global range [2, 4): its columns from row 2 on (block (2, 3) above the diagonal, as in DeepSpeed).
        AssertPicture(BlockPatterns.Variable(7 * 16, 16, 0, [1, 2], [2], [4], unidirectional: true), 0,
            "#......", ".#.....", ".###...", "..##...", "..###..", "..##.#.", "..##.##");
    }

    [Theory]
    [InlineData("numRandomBlocks")] [InlineData("localWindowBlocks")] [InlineData("localWindowBlocks.empty")]
    [InlineData("globalBlockIndices")] [InlineData("globalBlockEndIndices")] [InlineData("globalBlockEndIndices.length")]
    [InlineData("horizontalGlobalAttention")] [InlineData("heads")]
    public void Variable_rejects_bad_parameters(string which)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => BlockPatterns.Variable(256, 16,
            numRandomBlocks: which == "numRandomBlocks" ? -1 : 0,
            localWindowBlocks: which == "localWindowBlocks" ? [4, 0] : which == "localWindowBlocks.empty" ? [] : null,
            globalBlockIndices: which == "globalBlockIndices" ? [-2] : which.StartsWith("globalBlockEnd") ? [1, 3] : null,
            globalBlockEndIndices: which == "globalBlockEndIndices" ? [2, 3] : which == "globalBlockEndIndices.length" ? [2] : null,
            unidirectional: which == "horizontalGlobalAttention", horizontalGlobalAttention: which == "horizontalGlobalAttention",
            heads: which == "heads" ? 0 : 1));
        Assert.Equal(which.Split('.')[0], ex.ParamName);
    }

    // ---- BigBird ----

    private static bool BigBirdFormula(int nb, int random, int window, int globalBlocks, bool uni, int seed, int h, int r, int c)
    {
        int w = window / 2;
        bool any = Math.Abs(r - c) <= w || r < globalBlocks || c < globalBlocks
            || PatternsRandomSpec.Picks(seed, h, r, uni ? r + 1 : nb, random).Contains(c);
        return any && (!uni || c <= r);
    }

    [Fact]
    public void BigBird_matches_the_definition()
    {
        foreach (int length in Lengths)
            foreach (var (random, window, globalBlocks) in new[] { (1, 3, 1), (0, 3, 1), (2, 5, 2), (3, 1, 0), (40, 3, 1), (1, 8, 30) })
                foreach (bool uni in new[] { false, true })
                    foreach (int heads in new[] { 1, 3 })
                    {
                        int nb = Blocks(length, 16);
                        var layout = BlockPatterns.BigBird(length, 16, random, window, globalBlocks, uni, heads, seed: 11);
                        AssertMatches(layout, random > 0 ? heads : 1, nb, nb,
                            (h, r, c) => BigBirdFormula(nb, random, window, globalBlocks, uni, 11, h, r, c),
                            $"BigBird({length}, r {random}, window {window}, g {globalBlocks}, uni {uni}, heads {heads})");
                    }
    }

    [Fact]
    public void BigBird_without_random_blocks_hand_checked()
    {
        // 5 blocks, window 3 (w = 1), global block 0.
        AssertPicture(BlockPatterns.BigBird(5 * 16, 16, 0), 0, "#####", "###..", "####.", "#.###", "#..##");
        AssertPicture(BlockPatterns.BigBird(5 * 16, 16, 0, unidirectional: true), 0, "#....", "##...", "###..", "#.##.", "#..##");
    }

    [Fact]
    public void Random_blocks_are_reproducible_from_the_seed_and_differ_between_seeds()
    {
        var a = BlockPatterns.BigBird(4096, 16, 3, heads: 4, seed: 5);
        Assert.Equal(a, BlockPatterns.BigBird(4096, 16, 3, heads: 4, seed: 5));
        Assert.NotEqual(a, BlockPatterns.BigBird(4096, 16, 3, heads: 4, seed: 6));
        Assert.NotEqual(a.ColumnIndices(0).ToArray(), a.ColumnIndices(1).ToArray());   // each head draws its own
        var v = BlockPatterns.Variable(4096, 16, 2, heads: 2, seed: -3);
        Assert.Equal(v, BlockPatterns.Variable(4096, 16, 2, heads: 2, seed: -3));
        Assert.NotEqual(v, BlockPatterns.Variable(4096, 16, 2, heads: 2, seed: 3));
    }

    [Fact]
    public void Random_picks_cover_the_candidates_evenly()
    {
        // 8 heads × 256 rows × 3 picks from 256 candidates: each column is picked about 24 times (binomial, σ ≈ 4.9).
        // For a uniform generator a count below 4 or above 60 has probability ≈ 1e-7 per column; the seed is fixed, so the
        // test is deterministic, and a failure would point to a biased or stuck generator.
        var layout = BlockPatterns.BigBird(256 * 16, 16, 3, 1, 0, heads: 8, seed: 1);
        var hits = new int[256];
        for (int h = 0; h < 8; h++)
            for (int r = 0; r < 256; r++)
                foreach (int c in layout.Row(h, r)) if (c != r) hits[c]++;
        Assert.All(hits, n => Assert.InRange(n, 4, 60));
    }

    [Theory]
    [InlineData(-1, 3, 1, 1, "numRandomBlocks")] [InlineData(1, 0, 1, 1, "numSlidingWindowBlocks")]
    [InlineData(1, 3, -1, 1, "numGlobalBlocks")] [InlineData(1, 3, 1, 0, "heads")]
    public void BigBird_rejects_bad_parameters(int random, int window, int globalBlocks, int heads, string param)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => BlockPatterns.BigBird(256, 16, random, window, globalBlocks, false, heads));
        Assert.Equal(param, ex.ParamName);
    }

    // ---- BSLongformer ----

    private static bool LongformerFormula(int nb, int window, (int S, int E)[] global, bool uni, int r, int c)
    {
        bool inGlobal(int x) => global.Any(g => g.S < nb && x >= g.S && x < Math.Min(g.E, nb));
        bool any = Math.Abs(r - c) <= window / 2 || inGlobal(r) || inGlobal(c);
        return any && (!uni || c <= r);
    }

    [Fact]
    public void BSLongformer_matches_the_definition()
    {
        var globalSets = new (int[] Starts, int[]? Ends)[] { ([0], null), ([], null), ([3, 1, 50], null), ([2, 9], [4, 12]), ([5], [1000]) };
        foreach (int length in Lengths)
            foreach (int window in new[] { 1, 2, 3, 4, 7 })
                foreach (var (starts, ends) in globalSets)
                    foreach (bool uni in new[] { false, true })
                    {
                        int nb = Blocks(length, 16);
                        var global = starts.Select((s, i) => (s, ends is null ? s + 1 : ends[i])).ToArray();
                        var layout = BlockPatterns.BSLongformer(length, 16, window, starts, ends, uni, heads: 4);
                        AssertMatches(layout, 1, nb, nb, (_, r, c) => LongformerFormula(nb, window, global, uni, r, c),
                            $"BSLongformer({length}, window {window}, globals [{string.Join(',', starts)}], uni {uni})");
                    }
    }

    [Fact]
    public void BSLongformer_hand_checked()
    {
        // 5 blocks, window 3 (w = 1), global range [2, 4).
        AssertPicture(BlockPatterns.BSLongformer(5 * 16, 16, 3, [2], [4]), 0, "####.", "####.", "#####", "#####", "..###");
        AssertPicture(BlockPatterns.BSLongformer(5 * 16, 16, 3, [2], [4], unidirectional: true), 0, "#....", "##...", "###..", "####.", "..###");
        // Default global block 0 with window 3 is BigBird without random blocks.
        Assert.Equal(BlockPatterns.BigBird(333, 16, 0), BlockPatterns.BSLongformer(333, 16));
    }

    [Theory]
    [InlineData("numSlidingWindowBlocks")] [InlineData("globalBlockIndices")] [InlineData("globalBlockEndIndices")] [InlineData("heads")]
    public void BSLongformer_rejects_bad_parameters(string which)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => BlockPatterns.BSLongformer(256, 16,
            numSlidingWindowBlocks: which == "numSlidingWindowBlocks" ? 0 : 3,
            globalBlockIndices: which == "globalBlockIndices" ? [-1] : which == "globalBlockEndIndices" ? [4] : null,
            globalBlockEndIndices: which == "globalBlockEndIndices" ? [4] : null,
            heads: which == "heads" ? -1 : 1));
        Assert.Equal(which, ex.ParamName);
    }
}
