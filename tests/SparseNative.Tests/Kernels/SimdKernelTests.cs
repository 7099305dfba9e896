using Xunit;

namespace SparseNative.Tests.Kernels;

/// <summary>
/// Every SIMD path, forced through the public API, against the float64 reference (tolerances in <see cref="KernelCheck"/>).
/// A path this CPU cannot run is skipped with its reason; the NEON path runs for real under qemu (tests/arm64).
/// </summary>
public class SimdKernelTests
{
    public static TheoryData<Backend> Backends => new(KernelCheck.SimdBackends);

    public static TheoryData<Backend, int> BackendsAndHeadDims()
    {
        var data = new TheoryData<Backend, int>();
        foreach (var b in KernelCheck.SimdBackends)
            for (int d = 8; d <= 256; d += 8) data.Add(b, d);
        return data;
    }

    [Theory]
    [MemberData(nameof(BackendsAndHeadDims))]
    public void EveryHeadDimension(Backend backend, int d)
    {
        KernelCheck.SkipIfUnavailable(backend);
        // 2 batches, GQA 4:2, length 75 (tail of 11 at block 32), half the blocks active, one list per head.
        var s = new AttentionShape(2, 4, 2, 75, 75, d);
        KernelCheck.AgainstReference(backend, new(s, KernelCheck.Layout(s, 32, 4, 0.6, seed: d), Seed: d));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void EveryBlockSizeWithOddLengths(Backend backend)
    {
        KernelCheck.SkipIfUnavailable(backend);
        foreach (int block in BlockLayout.SupportedBlockSizes)
            foreach (int length in new[] { 1, block - 1, block, block + 3, 3 * block + 5 })
            {
                var s = new AttentionShape(1, 2, 1, length, length, 64);
                KernelCheck.AgainstReference(backend, new(s, KernelCheck.Layout(s, block, 2, 0.7, seed: length + block), Seed: length));
            }
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void CausalSelfAndCrossShapes(Backend backend)
    {
        KernelCheck.SkipIfUnavailable(backend);
        // (Lq, Lk): equal, decode-like Lq < Lk (bottom-right alignment), Lq > Lk (early queries see nothing).
        foreach (var (lq, lk) in new[] { (100, 100), (37, 150), (150, 37), (1, 129), (64, 64) })
            foreach (int block in new[] { 16, 64 })
            {
                var s = new AttentionShape(2, 4, 1, lq, lk, 32);
                var layout = KernelCheck.Layout(s, block, 1, 0.8, seed: lq * 7 + lk);
                KernelCheck.AgainstReference(backend, new(s, layout, Causal: true, Seed: lq + lk));
                KernelCheck.AgainstReference(backend, new(s, layout, Causal: false, Seed: lq + lk + 1));
            }
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void BshdFormatWithGqaAndPerHeadLayouts(Backend backend)
    {
        KernelCheck.SkipIfUnavailable(backend);
        var s = new AttentionShape(2, 6, 2, 90, 70, 48);
        foreach (int lists in new[] { 1, 3, 6 })
            KernelCheck.AgainstReference(backend,
                new(s, KernelCheck.Layout(s, 16, lists, 0.5, seed: lists), Causal: lists == 3, Format: TensorFormat.Bshd, Seed: lists));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void SegmentIdsUniformMixedAndDisjointBlocks(Backend backend)
    {
        KernelCheck.SkipIfUnavailable(backend);
        var s = new AttentionShape(2, 2, 2, 96, 96, 64);
        var rng = new Random(3);
        // Batch 0: documents of 32 tokens (blocks of 16 are uniform: all-or-nothing); batch 1: ragged documents.
        var seg = new int[2 * 96];
        for (int i = 0; i < 96; i++) { seg[i] = i / 32; seg[96 + i] = i / 13 + rng.Next(2); }
        foreach (bool causal in new[] { false, true })
            KernelCheck.AgainstReference(backend,
                new(s, KernelCheck.Layout(s, 16, 1, 0.9, seed: 5), Causal: causal, QuerySegments: seg, KeySegments: seg, Seed: 9));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void EmptyRowsGiveZerosAndMinusInfinity(Backend backend)
    {
        KernelCheck.SkipIfUnavailable(backend);
        var s = new AttentionShape(1, 2, 2, 64, 64, 16);
        var mask = new bool[4, 4];
        mask[0, 0] = true; mask[2, 1] = true; mask[3, 3] = true; // rows 1 empty; row 3 only its own block
        var layout = BlockLayout.FromDense(mask, 16);
        // Causal with Lq > Lk also fully masks early query rows inside an active block.
        var (o, lse) = KernelCheck.AgainstReference(backend, new(s, layout));
        for (int i = 16; i < 32; i++)
        {
            Assert.Equal(float.NegativeInfinity, lse[i]);
            for (int c = 0; c < 16; c++) Assert.Equal(0f, o[i * 16 + c]);
        }
        var cross = new AttentionShape(1, 1, 1, 40, 8, 8);
        var (o2, lse2) = KernelCheck.AgainstReference(backend, new(cross, KernelCheck.Layout(cross, 16, 1, 1.0, 1), Causal: true));
        Assert.Equal(float.NegativeInfinity, lse2[0]); // query 0 sees keys j ≤ 0 − 32: none
        Assert.All(o2, x => Assert.False(float.IsNaN(x)));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void LargeScoresAndCustomScaleStayAccurate(Backend backend)
    {
        KernelCheck.SkipIfUnavailable(backend);
        // scale 0.3 (3.4× the default) on inputs up to 1.5 at d = 128: scores reach tens, so the softmax is peaked and the
        // running max moves between blocks. (Much larger scores make |lse| so large that float32 itself cannot hold
        // it to 1e-5 absolute: one ulp at 128 is 1.5e-5.)
        var s = new AttentionShape(1, 2, 2, 200, 200, 128);
        KernelCheck.AgainstReference(backend, new(s, KernelCheck.Layout(s, 32, 2, 0.8, 11), Scale: 0.3f, Seed: 4));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void ResultsAreBitwiseIdenticalForAnyThreadCount(Backend backend)
    {
        KernelCheck.SkipIfUnavailable(backend);
        var s = new AttentionShape(2, 4, 2, 300, 300, 64);
        var c = new KernelCheck.Case(s, KernelCheck.Layout(s, 16, 4, 0.4, 8), Causal: true, Seed: 2);
        var (q, k, v) = TestData.Qkv(s, 2);
        var (o1, l1) = KernelCheck.Run(backend, c, q, k, v, threads: 1);
        foreach (int threads in new[] { 2, 3, 8 })
        {
            var (on, ln) = KernelCheck.Run(backend, c, q, k, v, threads);
            Assert.True(o1.AsSpan().SequenceEqual(on), $"output differs between 1 and {threads} threads");
            Assert.True(l1.AsSpan().SequenceEqual(ln), $"LSE differs between 1 and {threads} threads");
        }
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void HeadDimNotMultipleOfEightIsRejectedWithReason(Backend backend)
    {
        KernelCheck.SkipIfUnavailable(backend);
        var s = new AttentionShape(1, 1, 1, 16, 16, 12);
        var layout = KernelCheck.Layout(s, 16, 1, 1.0, 1);
        var ex = Assert.Throws<BackendUnavailableException>(() =>
            SparseAttention.Forward(new float[s.QueryElements], new float[s.KeyElements], new float[s.KeyElements],
                new float[s.QueryElements], s, layout, new AttentionOptions { Backend = backend, CheckFinite = false }));
        Assert.Contains("multiple of 8", ex.Message);
        Assert.NotEqual(backend, SparseAttention.SelectBackend(s, layout)); // Auto falls through to a backend that handles it
    }
}
