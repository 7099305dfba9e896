using Xunit;

namespace SparseNative.Tests.Kernels;

/// <summary>
/// The decode kernel (query rows ≤ 16 per head, one query block: every GQA group's heads in one pass, keys split into chunks
/// merged in a fixed order) on every SIMD backend against the float64 reference.
/// </summary>
public class DecodeKernelTests
{
    public static TheoryData<int, int, int, int, int, int, bool, TensorFormat, double> Cases => new()
    {
        // batch, Hq, Hkv, Lq, Lk, block, causal, format, density
        { 1, 8, 8, 1, 1001, 16, false, TensorFormat.Bhsd, 1.0 },   // GQA 1 (multi-head), odd length
        { 2, 8, 2, 1, 777, 32, true, TensorFormat.Bhsd, 1.0 },     // GQA 4, batch 2
        { 1, 16, 2, 3, 523, 16, true, TensorFormat.Bshd, 0.6 },    // GQA 8, three rows (speculative), causal offset, BSHD
        { 1, 8, 1, 16, 300, 16, true, TensorFormat.Bhsd, 0.7 },    // MQA, 16 rows × 8 heads: two passes of 64 rows
        { 1, 4, 2, 5, 9001, 16, true, TensorFormat.Bhsd, 1.0 },    // three chunks of 4096 keys, causal with offset
        { 1, 4, 1, 2, 9000, 64, false, TensorFormat.Bshd, 0.5 },   // chunks over a sparse row, some rows empty
        { 1, 4, 4, 1, 200, 16, false, TensorFormat.Bhsd, 0.0 },    // empty layout: zeros and −∞
        { 1, 2, 1, 7, 7, 16, true, TensorFormat.Bhsd, 1.0 },       // self-attention of a short sequence (one block)
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void DecodeEqualsTheReference(int batch, int hq, int hkv, int lq, int lk, int block, bool causal, TensorFormat format, double density)
    {
        var s = new AttentionShape(batch, hq, hkv, lq, lk, 16);
        // One list per head at random density (heads of a group read different blocks), and one shared list (one pass per group).
        foreach (int lists in new[] { hq, 1 })
        {
            var c = new KernelCheck.Case(s, KernelCheck.Layout(s, block, lists, density, seed: lk + lists), causal, format, Seed: lk);
            foreach (var backend in KernelCheck.SimdBackends)
            {
                if (!SparseAttention.Backends.Single(b => b.Backend == backend).IsAvailable) continue;
                KernelCheck.AgainstReference(backend, c, threads: 2);
            }
        }
    }

    [Fact]
    public void ALayoutFromTopKSelectionWithSegmentIds()
    {
        var s = new AttentionShape(1, 8, 2, 2, 5000, 32);
        var (q, k, _) = TestData.Qkv(s, 5);
        var layout = BlockSelection.TopK(q, k, s, 16, new TopKOptions { K = 40, Causal = true, PerKeyValueGroup = true });
        var segK = new int[s.KeyLength];
        for (int j = 0; j < segK.Length; j++) segK[j] = j < 700 ? 0 : 1; // a packed first document the queries do not see
        var c = new KernelCheck.Case(s, layout, Causal: true, QuerySegments: [1, 1], KeySegments: segK, Seed: 5);
        foreach (var backend in KernelCheck.SimdBackends)
            if (SparseAttention.Backends.Single(b => b.Backend == backend).IsAvailable) KernelCheck.AgainstReference(backend, c);
    }

    [Fact]
    public void BitwiseTheSameForAnyThreadCount()
    {
        // 32 query heads over 8 K/V heads, 20k keys: five chunks per pass, forty passes' worth of items.
        var s = new AttentionShape(1, 32, 8, 1, 20011, 16);
        var c = new KernelCheck.Case(s, BlockPatterns.Dense(s.QueryLength, 64, s.KeyLength), Causal: true, Seed: 3);
        var (q, k, v) = TestData.Qkv(s, 3);
        foreach (var backend in KernelCheck.SimdBackends)
        {
            if (!SparseAttention.Backends.Single(b => b.Backend == backend).IsAvailable) continue;
            var (o1, l1) = KernelCheck.Run(backend, c, q, k, v, threads: 1);
            foreach (int threads in new[] { 2, 3, 8 })
            {
                var (o, l) = KernelCheck.Run(backend, c, q, k, v, threads);
                Assert.Equal(o1, o);
                Assert.Equal(l1, l);
            }
        }
    }
}
