using Xunit;

namespace SparseNative.Tests.Dynamic;

/// <summary><see cref="BlockSelection.Routing"/>: reproducibility from the seed and cluster semantics on planted clusters.</summary>
public class RoutingSelectionTests
{
    /// <summary>Q and K whose blocks lie near one of <paramref name="clusters"/> orthogonal directions (plus small noise).</summary>
    private static (float[] Q, float[] K) Planted(AttentionShape s, int block, int[] queryCluster, int[] keyCluster, int seed)
    {
        var rng = new Random(seed);
        var q = new float[s.QueryElements];
        var k = new float[s.KeyElements];
        void Fill(float[] x, int heads, int length, int[] cluster, int headsPerDirection)
        {
            for (int h = 0; h < heads; h++)
                for (int t = 0; t < length; t++)
                    for (int c = 0; c < s.HeadDim; c++)
                    {
                        // Each K/V group rotates the cluster directions, so heads are not copies of each other.
                        int dir = (cluster[t / block] + h / headsPerDirection) % s.HeadDim;
                        x[(h * length + t) * s.HeadDim + c] = (c == dir ? 2f : 0f) + (float)(rng.NextDouble() - 0.5) * 0.2f;
                    }
        }
        Fill(q, s.QueryHeads, s.QueryLength, queryCluster, s.GroupSize);
        Fill(k, s.KeyValueHeads, s.KeyLength, keyCluster, 1);
        return (q, k);
    }

    [Fact]
    public void QueryBlocksOfAClusterSelectExactlyTheKeyBlocksOfThatCluster()
    {
        var s = new AttentionShape(1, 4, 2, 16 * 12, 16 * 15 - 5, 16); // GQA, cross, key tail
        int[] qc = [0, 1, 2, 0, 0, 2, 1, 1, 2, 0, 1, 2];
        int[] kc = [2, 2, 0, 1, 0, 1, 2, 0, 0, 1, 1, 2, 0, 2, 1];
        var (q, k) = Planted(s, 16, qc, kc, seed: 3);
        var layout = BlockSelection.Routing(q, k, s, 16,
            new RoutingOptions { Clusters = 3, Iterations = 5, KeepFirstBlocks = 0, KeepDiagonal = false, Seed = 11 });
        Assert.Equal(4, layout.LayoutCount);
        for (int h = 0; h < 4; h++)
            for (int r = 0; r < qc.Length; r++)
                Assert.Equal(Enumerable.Range(0, kc.Length).Where(c => kc[c] == qc[r]), layout.Row(h, r).ToArray());
    }

    [Fact]
    public void TopClustersAndKeepSetAddToTheCluster()
    {
        var s = AttentionShape.SelfAttention(1, 1, 16 * 9, 8);
        int[] qc = [0, 1, 2, 0, 1, 2, 0, 1, 2];
        int[] kc = [1, 1, 1, 2, 2, 2, 0, 0, 0];
        var (q, k) = Planted(s, 16, qc, kc, seed: 4);
        var all = BlockSelection.Routing(q, k, s, 16, new RoutingOptions { Clusters = 3, TopClusters = 3, KeepFirstBlocks = 0, KeepDiagonal = false });
        for (int r = 0; r < 9; r++) Assert.Equal(9, all.Row(0, r).Length);

        var causal = BlockSelection.Routing(q, k, s, 16,
            new RoutingOptions { Clusters = 3, Causal = true, KeepFirstBlocks = 1, KeepDiagonal = true });
        for (int r = 0; r < 9; r++)
        {
            var expected = Enumerable.Range(0, r + 1).Where(c => kc[c] == qc[r] || c == 0 || c == r);
            Assert.Equal(expected, causal.Row(0, r).ToArray());
        }
    }

    [Fact]
    public void TheSameSeedGivesTheSameLayout()
    {
        var s = new AttentionShape(2, 4, 2, 200, 200, 16);
        var (q, k, _) = TestData.Qkv(s, 8);
        var o = new RoutingOptions { Clusters = 5, TopClusters = 2, Iterations = 7, Seed = 1234, Causal = true };
        var a = BlockSelection.Routing(q, k, s, 16, o);
        var b = BlockSelection.Routing(q, k, s, 16, o with { });
        var serial = BlockSelection.Routing(q, k, s, 16, o with { MaxThreads = 1 });
        Assert.Equal(a, b);
        Assert.Equal(a, serial); // heads run in parallel; the draws are made before, so threads do not matter
        Assert.True(a.ActiveBlocks > 0);
    }

    [Fact]
    public void BhsdAndBshdGiveTheSameLayout()
    {
        var s = new AttentionShape(2, 4, 2, 96, 130, 8);
        var (q, k, _) = TestData.Qkv(s, 31);
        var o = new RoutingOptions { Clusters = 3, TopClusters = 1, Iterations = 4, Seed = 9, KeepFirstBlocks = 0, KeepDiagonal = false };
        var bhsd = BlockSelection.Routing(q, k, s, 16, o);
        var bshd = BlockSelection.Routing(ToBshd(q, s.Batch, s.QueryHeads, s.QueryLength, 8), ToBshd(k, s.Batch, s.KeyValueHeads, s.KeyLength, 8),
            s, 16, o with { Format = TensorFormat.Bshd });
        Assert.Equal(bhsd, bshd);
    }

    [Fact]
    public void BatchRowsAreUnioned()
    {
        // Two batch rows with different planted clusters: each query block gets the union of its two rows' cluster mates.
        var one = new AttentionShape(1, 2, 1, 16 * 6, 16 * 6, 8);
        int[] qc0 = [0, 1, 2, 0, 1, 2], kc0 = [2, 1, 0, 2, 1, 0];
        int[] qc1 = [1, 1, 0, 0, 2, 2], kc1 = [0, 1, 2, 0, 1, 2];
        var (q0, k0) = Planted(one, 16, qc0, kc0, seed: 1);
        var (q1, k1) = Planted(one, 16, qc1, kc1, seed: 2);
        var s = one with { Batch = 2 };
        var layout = BlockSelection.Routing([.. q0, .. q1], [.. k0, .. k1], s, 16,
            new RoutingOptions { Clusters = 3, KeepFirstBlocks = 0, KeepDiagonal = false });
        for (int h = 0; h < 2; h++)
            for (int r = 0; r < 6; r++)
                Assert.Equal(Enumerable.Range(0, 6).Where(c => kc0[c] == qc0[r] || kc1[c] == qc1[r]), layout.Row(h, r).ToArray());
    }

    private static float[] ToBshd(float[] x, int batch, int heads, int length, int d)
    {
        var y = new float[x.Length];
        for (int b = 0; b < batch; b++)
            for (int h = 0; h < heads; h++)
                for (int t = 0; t < length; t++)
                    Array.Copy(x, ((b * heads + h) * length + t) * d, y, ((b * length + t) * heads + h) * d, d);
        return y;
    }

    [Fact]
    public void SplitMix64FollowsItsPublishedDefinition()
    {
        // Values computed by hand from the definition (state += golden gamma; two xor-shift-multiply rounds), seed 0.
        var rng = new SplitMix64(0);
        ulong z = 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        Assert.Equal(z ^ (z >> 31), rng.Next());
        Assert.Equal(0xE220A8397B1DCDAFUL, new SplitMix64(0).Next()); // the reference implementation's first output for seed 0
        var bounded = new SplitMix64(7);
        for (int i = 0; i < 1000; i++) Assert.InRange(bounded.NextInt(13), 0, 12);
    }

    [Fact]
    public void BadOptionsAreRejected()
    {
        var s = AttentionShape.SelfAttention(1, 1, 32, 8);
        var (q, k, _) = TestData.Qkv(s, 1);
        Assert.Equal("options", Assert.ThrowsAny<ArgumentException>(() => BlockSelection.Routing(q, k, s, 16, new RoutingOptions { Clusters = 0 })).ParamName);
        Assert.Equal("options", Assert.ThrowsAny<ArgumentException>(() => BlockSelection.Routing(q, k, s, 16, new RoutingOptions { Clusters = 2, TopClusters = 3 })).ParamName);
        Assert.Equal("options", Assert.ThrowsAny<ArgumentException>(() => BlockSelection.Routing(q, k, s, 16, new RoutingOptions { Iterations = -1 })).ParamName);
        Assert.Equal("options", Assert.ThrowsAny<ArgumentException>(() =>
            BlockSelection.Routing(q, k, s, 16, new RoutingOptions { Iterations = RoutingOptions.MaxIterations + 1 })).ParamName);
        Assert.Equal("query", Assert.ThrowsAny<ArgumentException>(() => BlockSelection.Routing(q.AsSpan(2), k, s, 16, new RoutingOptions())).ParamName);
        k[7] = float.NaN;
        Assert.Equal("key", Assert.ThrowsAny<ArgumentException>(() => BlockSelection.Routing(q, k, s, 16, new RoutingOptions())).ParamName);
    }

    /// <summary>
    /// More clusters than pooled blocks are clamped (the fuzzer found <c>Clusters = int.MaxValue</c> allocating an array of
    /// that size), and the steps after k-means settles change nothing (it found <c>Iterations = int.MaxValue</c> running
    /// for minutes): the most iterations allowed give exactly the layout of a number that has long converged.
    /// </summary>
    [Fact]
    public void HugeClusterAndIterationCountsAreCheapAndExact()
    {
        var s = new AttentionShape(2, 4, 2, 16 * 9, 16 * 9, 16);
        var (q, k, _) = TestData.Qkv(s, 9);
        int points = 2 * 9; // query blocks + key blocks
        var all = BlockSelection.Routing(q, k, s, 16, new RoutingOptions { Clusters = points, TopClusters = 2, Seed = 5 });
        var huge = BlockSelection.Routing(q, k, s, 16, new RoutingOptions { Clusters = int.MaxValue, TopClusters = 2, Seed = 5 });
        Assert.Equal(all, huge);

        var settled = BlockSelection.Routing(q, k, s, 16, new RoutingOptions { Clusters = 5, Iterations = 200, Seed = 5 });
        var most = BlockSelection.Routing(q, k, s, 16, new RoutingOptions { Clusters = 5, Iterations = RoutingOptions.MaxIterations, Seed = 5 });
        Assert.Equal(settled, most);
        // Fewer steps than convergence needs are still honoured: some small count differs from the settled layout.
        Assert.Contains(Enumerable.Range(0, 3), n =>
            !BlockSelection.Routing(q, k, s, 16, new RoutingOptions { Clusters = 5, Iterations = n, Seed = 5 }).Equals(settled));
    }
}
