using Xunit;

namespace SparseNative.Tests.Dynamic;

/// <summary><see cref="BlockSelection.TopK"/> against float64 brute-force selections built from the token-level definitions.</summary>
public class TopKSelectionTests
{
    // The library scores in float32, the brute force in float64: two blocks whose float64 scores differ by less than this may
    // be ranked either way. Scores here are O(0.1–1), float32 dot products of 8–32 terms err by ~1e-7 relative.
    private const double ScoreTieTolerance = 1e-5;

    public static TheoryData<int, int, int, int, int, int, bool, TensorFormat, int> Shapes => new()
    {
        // Hq, Hkv, Lq, Lk, d, block, causal, format, K
        { 2, 2, 100, 100, 16, 16, false, TensorFormat.Bhsd, 2 },  // tails (100 = 6·16 + 4)
        { 4, 2, 96, 96, 8, 16, true, TensorFormat.Bhsd, 3 },      // GQA, causal
        { 2, 1, 20, 150, 16, 16, true, TensorFormat.Bshd, 4 },    // cross Lq < Lk, bottom-right causal, BSHD
        { 3, 3, 150, 40, 8, 16, true, TensorFormat.Bhsd, 1 },     // Lq > Lk: early query blocks have no causal candidate
        { 1, 1, 16, 16, 8, 16, false, TensorFormat.Bhsd, 5 },     // one block, K larger than the candidates
        { 2, 2, 200, 200, 32, 32, false, TensorFormat.Bshd, 0 },  // K = 0: only the keep-set
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void TopKMatchesBruteForce(int hq, int hkv, int lq, int lk, int d, int block, bool causal, TensorFormat format, int k)
    {
        var s = new AttentionShape(1, hq, hkv, lq, lk, d);
        var (q, key, _) = TestData.Qkv(s, seed: lq + lk + d);
        var o = new TopKOptions { K = k, Causal = causal, Format = format, KeepFirstBlocks = 1, KeepDiagonal = true, KeepLocalWindow = 1 };
        var layout = BlockSelection.TopK(q, key, s, block, o);

        Assert.Equal(hq, layout.LayoutCount);
        for (int h = 0; h < hq; h++)
        {
            var scores = BruteSelection.Scores(q, key, s, block, 0, h, group: false, format);
            for (int r = 0; r < s.QueryBlocks(block); r++)
                CheckTopKRow(layout.Row(h, r).ToArray(), scores, s, block, r, o);
        }
    }

    /// <summary>Keep-set (causally filtered) plus the K best other candidates, with float32 near-ties allowed to swap.</summary>
    private static void CheckTopKRow(int[] actual, double[,] scores, AttentionShape s, int block, int r, TopKOptions o)
    {
        var ranked = BruteSelection.Ranked(scores, s, block, r, o.Causal);
        var keep = BruteSelection.KeepSet(s, block, r, o.KeepFirstBlocks, o.KeepDiagonal, o.KeepLocalWindow);
        keep.IntersectWith(ranked);
        var others = ranked.Where(c => !keep.Contains(c)).ToList();
        var expectedChosen = others.Take(o.K).ToHashSet();
        var actualChosen = actual.Where(c => !keep.Contains(c)).ToHashSet();

        Assert.True(keep.IsSubsetOf(actual), $"row {r}: keep-set {string.Join(",", keep)} not in {string.Join(",", actual)}");
        Assert.Equal(expectedChosen.Count, actualChosen.Count);
        Assert.All(actual, c => Assert.Contains(c, ranked));              // only causally possible blocks
        Assert.Equal(actual.Order().ToArray(), actual);                     // sorted
        if (expectedChosen.Count == 0 || expectedChosen.SetEquals(actualChosen)) return;
        double boundary = scores[r, others[o.K - 1]];
        foreach (int c in actualChosen.Except(expectedChosen).Concat(expectedChosen.Except(actualChosen)))
            Assert.True(Math.Abs(scores[r, c] - boundary) <= ScoreTieTolerance,
                $"row {r}: block {c} (score {scores[r, c]}) differs from the brute force beyond a float32 tie at {boundary}");
    }

    [Theory]
    [InlineData(0.5, false, 0)]
    [InlineData(0.9, true, 0)]
    [InlineData(0.99, false, 3)]
    [InlineData(1.0, true, 0)]
    public void MassThresholdTakesTheShortestPrefixReachingTau(double tau, bool causal, int cap)
    {
        var s = new AttentionShape(1, 2, 2, 160, 160, 16);
        var (q, k, _) = TestData.Qkv(s, seed: 41, scale: 3f); // scale 3: peaked pooled scores, prefixes of various lengths
        // K = 1 must be ignored under τ; MassMaxBlocks caps.
        var o = new TopKOptions { MassThreshold = tau, K = 1, MassMaxBlocks = cap, Causal = causal, KeepFirstBlocks = 0, KeepDiagonal = false };
        var layout = BlockSelection.TopK(q, k, s, 16, o);
        for (int h = 0; h < 2; h++)
        {
            var scores = BruteSelection.Scores(q, k, s, 16, 0, h, group: false);
            for (int r = 0; r < 10; r++)
            {
                var ranked = BruteSelection.Ranked(scores, s, 16, r, causal);
                var actual = layout.Row(h, r).ToArray();
                double max = scores[r, ranked[0]];
                double Mass(IEnumerable<int> set) => set.Sum(c => Math.Exp(scores[r, c] - max));
                double total = Mass(ranked);
                // The chosen set is the prefix of the ranking of its own size (up to float32 near-ties at its edge).
                var prefix = ranked.Take(actual.Length).ToHashSet();
                foreach (int c in prefix.Except(actual).Concat(actual.Except(prefix)))
                    Assert.True(Math.Abs(scores[r, c] - scores[r, ranked[actual.Length - 1]]) <= ScoreTieTolerance, $"row {r}: block {c}");
                if (cap > 0 && actual.Length == cap) continue; // capped before reaching τ
                Assert.True(Mass(prefix) >= tau * total * (1 - 1e-6), $"row {r}: mass {Mass(prefix) / total} < τ {tau}");
                // Shortest: one block fewer does not reach τ.
                Assert.True(Mass(ranked.Take(actual.Length - 1)) < tau * total * (1 + 1e-6), $"row {r}: a shorter prefix reaches τ");
            }
        }
    }

    [Fact]
    public void TauOneKeepsEveryCandidate()
    {
        var s = AttentionShape.SelfAttention(1, 1, 90, 8);
        var (q, k, _) = TestData.Qkv(s, 3);
        var layout = BlockSelection.TopK(q, k, s, 16, new TopKOptions { MassThreshold = 1.0, Causal = true, KeepFirstBlocks = 0, KeepDiagonal = false });
        for (int r = 0; r < layout.QueryBlocks; r++) Assert.Equal(Enumerable.Range(0, r + 1), layout.Row(0, r).ToArray());
    }

    [Fact]
    public void KZeroGivesExactlyTheCausallyFilteredKeepSet()
    {
        var s = new AttentionShape(1, 1, 1, 70, 200, 8);
        var (q, k, _) = TestData.Qkv(s, 5);
        var o = new TopKOptions { K = 0, Causal = true, KeepFirstBlocks = 2, KeepDiagonal = true, KeepLocalWindow = 2 };
        var layout = BlockSelection.TopK(q, k, s, 16, o);
        for (int r = 0; r < layout.QueryBlocks; r++)
        {
            var expected = BruteSelection.KeepSet(s, 16, r, 2, true, 2).Where(c => BruteSelection.CausallyPossible(s, 16, r, c)).Order();
            Assert.Equal(expected, layout.Row(0, r).ToArray());
        }
    }

    [Theory]
    [InlineData(int.MaxValue)] [InlineData(int.MaxValue - 1)] [InlineData(1 << 30)]
    public void AWindowNearIntMaxValueKeepsEveryCausallyPossibleBlock(int window)
    {
        // first - w and last + w are taken in long arithmetic: an overflowed range would keep nothing, not the diagonal.
        var s = new AttentionShape(1, 1, 1, 70, 200, 8);
        var (q, k, _) = TestData.Qkv(s, 9);
        var layout = BlockSelection.TopK(q, k, s, 16, new TopKOptions { K = 0, Causal = true, KeepFirstBlocks = 0, KeepDiagonal = true, KeepLocalWindow = window });
        for (int r = 0; r < layout.QueryBlocks; r++)
        {
            var expected = Enumerable.Range(0, layout.KeyBlocks).Where(c => BruteSelection.CausallyPossible(s, 16, r, c));
            Assert.Equal(expected, layout.Row(0, r).ToArray());
        }
    }

    [Fact]
    public void CausalSelectionNeverPicksAFullyMaskedBlock()
    {
        foreach (var (lq, lk) in new[] { (64, 64), (40, 300), (300, 40), (1, 500) })
        {
            var s = new AttentionShape(1, 2, 1, lq, lk, 8);
            var (q, k, _) = TestData.Qkv(s, lq);
            var layout = BlockSelection.TopK(q, k, s, 16, new TopKOptions { K = 100, Causal = true, KeepLocalWindow = 3 });
            for (int h = 0; h < 2; h++)
                for (int r = 0; r < layout.QueryBlocks; r++)
                    foreach (int c in layout.Row(h, r))
                        Assert.True(BruteSelection.CausallyPossible(s, 16, r, c), $"Lq {lq} Lk {lk}: block ({r},{c})");
        }
    }

    [Fact]
    public void TiesGoToTheLowerKeyBlockIndex()
    {
        // Every key block has the same rows, so every pooled score is exactly equal: top-3 must be blocks 0, 1, 2.
        var s = AttentionShape.SelfAttention(1, 1, 128, 8);
        var q = TestData.Random(s.QueryElements, 1);
        var row = TestData.Random(8, 2);
        var k = new float[s.KeyElements];
        for (int t = 0; t < 128; t++) row.CopyTo(k, t * 8);
        var layout = BlockSelection.TopK(q, k, s, 16, new TopKOptions { K = 3, KeepFirstBlocks = 0, KeepDiagonal = false });
        for (int r = 0; r < 8; r++) Assert.Equal([0, 1, 2], layout.Row(0, r).ToArray());

        // Blocks 5 and 3 identical and dominant: K = 1 takes block 3.
        for (int t = 0; t < 128; t++) k[t * 8] = 0.01f * (t % 16);
        for (int t = 3 * 16; t < 4 * 16; t++) { k[t * 8 + 1] = 9f; k[(t + 32) * 8 + 1] = 9f; }
        for (int t = 0; t < 128; t++) for (int c = 0; c < 8; c++) { q[t * 8 + c] = c == 1 ? 1f : 0.001f; }
        layout = BlockSelection.TopK(q, k, s, 16, new TopKOptions { K = 1, KeepFirstBlocks = 0, KeepDiagonal = false });
        for (int r = 0; r < 8; r++) Assert.Equal([3], layout.Row(0, r).ToArray());
    }

    [Fact]
    public void PerKeyValueGroupSharesOneSelectionPerGroupFromTheMeanScore()
    {
        var s = new AttentionShape(1, 6, 2, 120, 120, 16); // groups of 3 heads
        var (q, k, _) = TestData.Qkv(s, 17);
        var o = new TopKOptions { K = 2, PerKeyValueGroup = true, KeepFirstBlocks = 0, KeepDiagonal = false };
        var layout = BlockSelection.TopK(q, k, s, 16, o);
        Assert.Equal(6, layout.LayoutCount);
        for (int h = 0; h < 6; h++)
        {
            var scores = BruteSelection.Scores(q, k, s, 16, 0, h, group: true);
            for (int r = 0; r < layout.QueryBlocks; r++)
            {
                Assert.Equal(layout.Row(h / 3 * 3, r).ToArray(), layout.Row(h, r).ToArray()); // same within the group
                CheckTopKRow(layout.Row(h, r).ToArray(), scores, s, 16, r, o);
            }
        }
        var mqa = new AttentionShape(1, 4, 1, 64, 64, 8);
        var (q1, k1, _) = TestData.Qkv(mqa, 2);
        Assert.Equal(1, BlockSelection.TopK(q1, k1, mqa, 16, o).LayoutCount);
    }

    [Fact]
    public void BatchRowsAreUnioned()
    {
        var s = new AttentionShape(2, 2, 2, 80, 80, 8);
        var (q, k, _) = TestData.Qkv(s, 23);
        var o = new TopKOptions { K = 1, KeepFirstBlocks = 0, KeepDiagonal = false };
        var both = BlockSelection.TopK(q, k, s, 16, o);
        var one = s with { Batch = 1 };
        int qh = (int)one.QueryElements, kh = (int)one.KeyElements;
        var first = BlockSelection.TopK(q.AsSpan(0, qh), k.AsSpan(0, kh), one, 16, o);
        var second = BlockSelection.TopK(q.AsSpan(qh), k.AsSpan(kh), one, 16, o);
        Assert.Equal(first.Union(second), both);
        Assert.Equal(both, BlockSelection.TopK(q, k, s, 16, o with { MaxThreads = 1 }));
    }

    [Fact]
    public void SparseAttentionOverTheSelectionIsExactOnItsBlocksAndConvergesToDense()
    {
        var s = AttentionShape.SelfAttention(1, 2, 128, 16);
        var (q, k, v) = TestData.Qkv(s, 29, scale: 2f);
        var dense = BlockLayout.FromPredicate(16, 8, 8, 1, (_, _, _) => true);
        var (denseOut, _) = NaiveDense.Run(q, k, v, s, dense, causal: true);
        double previous = double.PositiveInfinity;
        foreach (int kk in new[] { 0, 2, 4, 8 })
        {
            var layout = BlockSelection.TopK(q, k, s, 16, new TopKOptions { K = kk, Causal = true });
            var o = new float[s.QueryElements];
            SparseAttention.Forward(q, k, v, o, s, layout, new AttentionOptions { Causal = true, Backend = Backend.Reference });
            var (expected, _) = NaiveDense.Run(q, k, v, s, layout, causal: true);
            Assert.True(TestData.RelativeError(o, expected) <= Tolerances.RoundedOnceRelative);
            double err = TestData.RelativeError(o, denseOut);
            Assert.True(err <= previous + 1e-7, $"K {kk}: error {err} grew from {previous}");
            previous = err;
        }
        Assert.True(previous <= Tolerances.RoundedOnceRelative, $"K = all blocks must be dense attention, error {previous}");
    }

    [Fact]
    public void BadInputIsRejectedWithTheArgumentName()
    {
        var s = AttentionShape.SelfAttention(1, 1, 32, 8);
        var (q, k, _) = TestData.Qkv(s, 1);
        Assert.Equal("options", Assert.ThrowsAny<ArgumentException>(() => BlockSelection.TopK(q, k, s, 16, new TopKOptions { K = -1 })).ParamName);
        Assert.Equal("options", Assert.ThrowsAny<ArgumentException>(() => BlockSelection.TopK(q, k, s, 16, new TopKOptions { MassThreshold = 0 })).ParamName);
        Assert.Equal("options", Assert.ThrowsAny<ArgumentException>(() => BlockSelection.TopK(q, k, s, 16, new TopKOptions { MassThreshold = 1.5 })).ParamName);
        Assert.Equal("options", Assert.ThrowsAny<ArgumentException>(() => BlockSelection.TopK(q, k, s, 16, new TopKOptions { KeepFirstBlocks = -2 })).ParamName);
        Assert.Equal("options", Assert.ThrowsAny<ArgumentException>(() => BlockSelection.TopK(q, k, s, 16, new TopKOptions { MaxThreads = -1 })).ParamName);
        Assert.Equal("options", Assert.ThrowsAny<ArgumentException>(() => BlockSelection.TopK(q, k, s, 16, new TopKOptions { MassThreshold = 0.5, MassMaxBlocks = -1 })).ParamName);
        Assert.Equal("blockSize", Assert.ThrowsAny<ArgumentException>(() => BlockSelection.TopK(q, k, s, 24, new TopKOptions())).ParamName);
        Assert.Equal("key", Assert.ThrowsAny<ArgumentException>(() => BlockSelection.TopK(q, k.AsSpan(1), s, 16, new TopKOptions())).ParamName);
        q[5] = float.NaN;
        Assert.Equal("query", Assert.ThrowsAny<ArgumentException>(() => BlockSelection.TopK(q, k, s, 16, new TopKOptions())).ParamName);
        Assert.Equal("query", Assert.ThrowsAny<ArgumentException>(() => BlockSelection.TopK(q, k, s, 16, new TopKOptions { PerKeyValueGroup = true })).ParamName);
        q[5] = 0.5f;
        // Non-finite values are found while pooling, in any head, batch row and format; the worker's error is not wrapped.
        var s2 = new AttentionShape(2, 4, 2, 40, 40, 8);
        var (q2, k2, _) = TestData.Qkv(s2, 3);
        k2[^3] = float.NegativeInfinity;
        var e = Assert.ThrowsAny<ArgumentException>(() => BlockSelection.TopK(q2, k2, s2, 16, new TopKOptions { Format = TensorFormat.Bshd }));
        Assert.Equal("key", e.ParamName);
        Assert.Contains("batch 1", e.Message);
        k2[^3] = 3e38f; k2[^11] = 3e38f; // finite, but the block sum overflows
        Assert.Contains("overflow", Assert.ThrowsAny<ArgumentException>(() => BlockSelection.TopK(q2, k2, s2, 16, new TopKOptions())).Message);
        Assert.Throws<ArgumentNullException>(() => BlockSelection.TopK(q, k, s, 16, null!));
    }
}
