using Xunit;
using static SparseNative.Tests.Kernels.HalfPrecision;

namespace SparseNative.Tests.Kernels;

/// <summary>
/// Float16 and bfloat16 tensors on every managed SIMD path (forced through the public API), the C library and the reference,
/// against the float64 reference fed the same values (bounds in <see cref="HalfPrecision.AgainstReference"/>). The NEON
/// path runs under qemu (tests/arm64).
/// </summary>
public class HalfPrecisionKernelTests
{
    public static TheoryData<Backend, Element, Element> BackendsAndTypes()
    {
        var data = new TheoryData<Backend, Element, Element>();
        foreach (var b in KernelCheck.SimdBackends.Append(Backend.NativeCpu).Append(Backend.Reference))
            foreach (var (qo, kv) in Combinations) data.Add(b, qo, kv);
        return data;
    }

    [Theory]
    [MemberData(nameof(BackendsAndTypes))]
    public void OddSizesGqaAndBothFormats(Backend backend, Element qo, Element kv)
    {
        KernelCheck.SkipIfUnavailable(backend);
        // GQA 4:2, lengths with tails at block 32, head dims 40 (an odd multiple of 8: Vector256 under AVX-512) and 64,
        // some rows with no active block at density 0.5.
        foreach (int d in new[] { 40, 64 })
            foreach (var format in new[] { TensorFormat.Bhsd, TensorFormat.Bshd })
            {
                var s = new AttentionShape(2, 4, 2, 75, 91, d);
                AgainstReference(backend, new(s, KernelCheck.Layout(s, 32, 2, 0.5, seed: d), Format: format, Seed: d + (int)format), qo, kv);
            }
    }

    [Theory]
    [MemberData(nameof(BackendsAndTypes))]
    public void CausalSelfAndCross(Backend backend, Element qo, Element kv)
    {
        KernelCheck.SkipIfUnavailable(backend);
        // Equal lengths, decode-like Lq < Lk (bottom-right alignment), Lq > Lk (early queries see nothing: zeros, −∞).
        foreach (var (lq, lk) in new[] { (70, 70), (5, 133), (100, 37) })
        {
            var s = new AttentionShape(1, 4, 1, lq, lk, 32);
            AgainstReference(backend, new(s, KernelCheck.Layout(s, 16, 1, 0.8, seed: lq + lk), Causal: true, Seed: lq), qo, kv);
        }
    }

    [Theory]
    [MemberData(nameof(BackendsAndTypes))]
    public void SegmentIdsAndEmptyRows(Backend backend, Element qo, Element kv)
    {
        KernelCheck.SkipIfUnavailable(backend);
        var s = new AttentionShape(1, 2, 2, 50, 50, 16);
        var seg = Enumerable.Range(0, 50).Select(i => i / 17).ToArray();
        AgainstReference(backend, new(s, KernelCheck.Layout(s, 16, 1, 0.6, seed: 9), QuerySegments: seg, KeySegments: seg, Seed: 5), qo, kv);
    }

    [Theory]
    [MemberData(nameof(BackendsAndTypes))]
    public void RowsWithNoKeyGetZerosAndMinusInfinity(Backend backend, Element qo, Element kv)
    {
        KernelCheck.SkipIfUnavailable(backend);
        var s = new AttentionShape(1, 2, 1, 40, 40, 8);
        var layout = BlockLayout.FromDense(new bool[1, 3, 3], 16); // no block at all
        var (q, k, v) = TestData.Qkv(s, 3);
        var o = NaNs(s.QueryElements, qo);
        var lse = new float[s.LogSumExpElements];
        Forward(Narrow(q, qo), Narrow(k, kv), Narrow(v, kv), o, s, layout, new AttentionOptions { Backend = backend }, lse);
        Assert.All(Widen(o), x => Assert.Equal(0f, x));
        Assert.All(lse, x => Assert.Equal(float.NegativeInfinity, x));
    }

    [Theory]
    [MemberData(nameof(BackendsAndTypes))]
    public void ResultsAreBitwiseIdenticalForAnyThreadCount(Backend backend, Element qo, Element kv)
    {
        KernelCheck.SkipIfUnavailable(backend);
        var s = new AttentionShape(1, 4, 2, 130, 130, 32);
        var layout = KernelCheck.Layout(s, 32, 1, 0.7, seed: 2);
        var (q, k, v) = TestData.Qkv(s, 8);
        Array hq = Narrow(q, qo), hk = Narrow(k, kv), hv = Narrow(v, kv);
        float[]? first = null;
        foreach (int threads in new[] { 1, 2, 3 })
        {
            var o = NaNs(s.QueryElements, qo);
            Forward(hq, hk, hv, o, s, layout, new AttentionOptions { Backend = backend, MaxThreads = threads }, new float[s.LogSumExpElements]);
            var wide = Widen(o);
            if (first is null) first = wide;
            else Assert.Equal(first, wide);
        }
    }

    [Fact]
    public void TheReferenceRoundsItsFloat64ResultOnce()
    {
        // The reference's half output against its float32 output for the same inputs: half an ulp of the output type
        // (plus float32's rounding of the comparison value), never a second full rounding.
        var s = new AttentionShape(1, 2, 1, 60, 60, 24);
        var layout = KernelCheck.Layout(s, 16, 1, 0.7, seed: 4);
        var (q, k, v) = TestData.Qkv(s, 11, scale: 2f);
        foreach (var t in new[] { Element.F16, Element.BF16 })
        {
            Array hq = Narrow(q, t), hk = Narrow(k, t), hv = Narrow(v, t);
            var o = NaNs(s.QueryElements, t);
            var exact = new float[s.QueryElements];
            var opts = new AttentionOptions { Backend = Backend.Reference };
            Forward(hq, hk, hv, o, s, layout, opts, new float[s.LogSumExpElements]);
            Forward(Widen(hq), Narrow(Widen(hk), t), Narrow(Widen(hv), t), exact, s, layout, opts, new float[s.LogSumExpElements]);
            var got = Widen(o);
            for (int i = 0; i < exact.Length; i++)
                Assert.True(Math.Abs((double)got[i] - exact[i]) <= 0.5 * Ulp(exact[i], t) + Math.Abs(exact[i]) * 1e-7,
                    $"{t}: reference output[{i}] = {got[i]:R}, float32 reference {exact[i]:R}");
        }
    }

    [Fact]
    public void AutoRunsHalfTensorsOnAPathThatTakesThem()
    {
        var s = new AttentionShape(1, 2, 2, 64, 64, 64);
        var layout = KernelCheck.Layout(s, 64, 1, 1.0, seed: 1);
        var (q, k, v) = TestData.Qkv(s, 1);
        var ran = SparseAttention.Forward<Half, Half>(Narrow(q, Element.F16) as Half[], Narrow(k, Element.F16) as Half[],
            Narrow(v, Element.F16) as Half[], new Half[s.QueryElements], s, layout);
        Assert.Contains(ran, KernelCheck.SimdBackends.Append(Backend.NativeCpu).Append(Backend.Reference));
    }
}
