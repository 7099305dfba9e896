using Xunit;
using static SparseNative.Tests.PatternsGrid;

namespace SparseNative.Tests;

/// <summary>Dense, Causal, LocalWindow, BlockDiagonal and Dilated against their written definitions, cell by cell.</summary>
public class PatternsBasicTests
{
    public static TheoryData<int, int> LengthsAndBlocks()
    {
        var data = new TheoryData<int, int>();
        foreach (int bs in new[] { 16, 32 })
            foreach (int len in Lengths) data.Add(len, bs);
        return data;
    }

    [Theory, MemberData(nameof(LengthsAndBlocks))]
    public void Dense_is_every_block(int length, int bs)
    {
        foreach (int lk in new[] { length, 1, 70 })
        {
            var layout = BlockPatterns.Dense(length, bs, lk);
            AssertMatches(layout, 1, Blocks(length, bs), Blocks(lk, bs), (_, _, _) => true, $"Dense({length}, {bs}, {lk})");
        }
        Assert.Equal(BlockPatterns.Dense(length, bs, length), BlockPatterns.Dense(length, bs));
    }

    // The definition: a block is active iff it holds a token pair (i, j), i < Lq, j < Lk, with j ≤ i + (Lk − Lq).
    // Evaluated by brute force over the tokens, independent of the builder's closed form.
    private static bool CausalBlockByTokens(int lq, int lk, int bs, int r, int c)
    {
        for (int i = r * bs; i < Math.Min((r + 1) * bs, lq); i++)
            for (int j = c * bs; j < Math.Min((c + 1) * bs, lk); j++)
                if (j <= i + (lk - lq)) return true;
        return false;
    }

    [Theory, MemberData(nameof(LengthsAndBlocks))]
    public void Causal_is_every_block_with_an_allowed_token_pair(int length, int bs)
    {
        foreach (int lk in new[] { length, 1, 5, 40, length + 37, Math.Max(1, length - 20) })
        {
            var layout = BlockPatterns.Causal(length, bs, lk);
            AssertMatches(layout, 1, Blocks(length, bs), Blocks(lk, bs),
                (_, r, c) => CausalBlockByTokens(length, lk, bs, r, c), $"Causal({length}, {bs}, {lk})");
        }
        Assert.Equal(BlockPatterns.Causal(length, bs, length), BlockPatterns.Causal(length, bs));
    }

    [Fact]
    public void Causal_hand_checked_rectangles()
    {
        // Lq = 20, Lk = 50, block 16: shift 30. Row 0's last query 15 sees keys ≤ 45 (block 2); row 1's last query 19 sees all.
        AssertPicture(BlockPatterns.Causal(20, 16, 50), 0, "###.", "####");
        // Lq = 50, Lk = 20: shift −30. Row 0 (queries ≤ 15) sees nothing; row 1 sees keys ≤ 1; rows 2, 3 see both blocks.
        AssertPicture(BlockPatterns.Causal(50, 16, 20), 0, "..", "#.", "##", "##");
        AssertPicture(BlockPatterns.Causal(40, 16), 0, "#..", "##.", "###");
    }

    [Theory, MemberData(nameof(LengthsAndBlocks))]
    public void LocalWindow_is_the_clipped_band(int length, int bs)
    {
        int nb = Blocks(length, bs);
        foreach (int w in new[] { 0, 1, 2, 5, 1000 })
            foreach (bool causal in new[] { false, true })
            {
                var layout = BlockPatterns.LocalWindow(length, bs, w, causal);
                AssertMatches(layout, 1, nb, nb, (_, r, c) => c >= r - w && c <= r + w && (!causal || c <= r),
                    $"LocalWindow({length}, {bs}, {w}, {causal})");
            }
    }

    [Theory, MemberData(nameof(LengthsAndBlocks))]
    public void BlockDiagonal_is_the_diagonal(int length, int bs)
    {
        int nb = Blocks(length, bs);
        AssertMatches(BlockPatterns.BlockDiagonal(length, bs), 1, nb, nb, (_, r, c) => r == c, $"BlockDiagonal({length}, {bs})");
    }

    [Theory, MemberData(nameof(LengthsAndBlocks))]
    public void Dilated_is_every_dth_block_within_the_span(int length, int bs)
    {
        int nb = Blocks(length, bs);
        foreach (int span in new[] { 0, 1, 3, 7, 100 })
            foreach (int d in new[] { 1, 2, 3, 5 })
                foreach (bool causal in new[] { false, true })
                {
                    var layout = BlockPatterns.Dilated(length, bs, span, d, causal);
                    // c = r + m·d with |m·d| ≤ span, m ≤ 0 when causal: search the integers m directly.
                    AssertMatches(layout, 1, nb, nb, (_, r, c) =>
                    {
                        for (int m = -span; m <= span; m++)
                            if (r + m * d == c && Math.Abs(m * d) <= span && (!causal || m <= 0)) return true;
                        return false;
                    }, $"Dilated({length}, {bs}, {span}, {d}, {causal})");
                }
    }

    [Fact]
    public void Dilated_with_step_one_is_the_local_window()
    {
        foreach (bool causal in new[] { false, true })
            Assert.Equal(BlockPatterns.LocalWindow(333, 16, 3, causal), BlockPatterns.Dilated(333, 16, 3, 1, causal));
    }

    [Fact]
    public void Dilated_hand_checked()
    {
        // 7 blocks, span 4, step 2: offsets −4, −2, 0, 2, 4.
        AssertPicture(BlockPatterns.Dilated(7 * 16, 16, 4, 2), 0,
            "#.#.#..",
            ".#.#.#.",
            "#.#.#.#",
            ".#.#.#.",
            "#.#.#.#",
            ".#.#.#.",
            "..#.#.#");
    }
}
