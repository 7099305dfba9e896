using Xunit;

namespace SparseNative.Tests.Kernels;

/// <summary>
/// Runs one problem with half-precision tensors through a forced backend and checks it against the float64 reference fed
/// the same values: the reference reads the float16/bfloat16 inputs exactly (here: widened to float32, which is exact)
/// and writes a float32 output, so it is the exact answer for the inputs actually given, rounded once to float32.
/// </summary>
public static class HalfPrecision
{
    public enum Element { F32, F16, BF16 }

    /// <summary>(Q and O, K and V): the combinations models use.</summary>
    public static readonly (Element QueryOutput, Element KeyValue)[] Combinations =
    [
        (Element.F32, Element.F32), (Element.F16, Element.F16), (Element.BF16, Element.BF16), (Element.F32, Element.F16), (Element.F32, Element.BF16),
        (Element.F16, Element.BF16),
    ];

    public static Array Narrow(float[] x, Element t) => t switch
    {
        Element.F32 => x,
        Element.F16 => x.Select(v => (Half)v).ToArray(),
        _ => x.Select(v => (BFloat16)v).ToArray(),
    };

    public static float[] Widen(Array x) => x switch
    {
        float[] f => f,
        Half[] h => h.Select(v => (float)v).ToArray(),
        BFloat16[] b => b.Select(v => (float)v).ToArray(),
        _ => throw new ArgumentException("not a tensor type", nameof(x)),
    };

    /// <summary>An output tensor of the type, filled with NaN so that an element left unwritten fails the comparison.</summary>
    public static Array NaNs(long count, Element t) => t switch
    {
        Element.F32 => Enumerable.Repeat(float.NaN, (int)count).ToArray(),
        Element.F16 => Enumerable.Repeat(Half.NaN, (int)count).ToArray(),
        _ => Enumerable.Repeat(BFloat16.NaN, (int)count).ToArray(),
    };

    /// <summary>Forward with whatever element types the arrays hold (Q and O alike, K and V alike).</summary>
    internal static Backend Forward(Array q, Array k, Array v, Array o, AttentionShape s, BlockLayout layout, AttentionOptions options, float[] lse) =>
        (q, k) switch
        {
            (float[] qf, float[] kf) => SparseAttention.Forward(qf, kf, (float[])v, (float[])o, s, layout, options, lse),
            (float[] qf, Half[] kh) => SparseAttention.Forward<float, Half>(qf, kh, (Half[])v, (float[])o, s, layout, options, lse),
            (float[] qf, BFloat16[] kb) => SparseAttention.Forward<float, BFloat16>(qf, kb, (BFloat16[])v, (float[])o, s, layout, options, lse),
            (Half[] qh, Half[] kh) => SparseAttention.Forward<Half, Half>(qh, kh, (Half[])v, (Half[])o, s, layout, options, lse),
            (Half[] qh, BFloat16[] kb) => SparseAttention.Forward<Half, BFloat16>(qh, kb, (BFloat16[])v, (Half[])o, s, layout, options, lse),
            (BFloat16[] qb, BFloat16[] kb) => SparseAttention.Forward<BFloat16, BFloat16>(qb, kb, (BFloat16[])v, (BFloat16[])o, s, layout, options, lse),
            _ => throw new ArgumentException("combination not covered by this helper"),
        };

    /// <summary>One unit in the last place of <paramref name="t"/> at the magnitude of <paramref name="x"/> (the subnormal spacing below the normals).</summary>
    public static double Ulp(double x, Element t)
    {
        (int mantissaBits, int minExponent) = t switch { Element.F16 => (10, -14), Element.BF16 => (7, -126), _ => (23, -126) };
        int e = x == 0 ? minExponent : Math.Max(minExponent, (int)Math.Floor(Math.Log2(Math.Abs(x))));
        return Math.Pow(2, e - mantissaBits);
    }

    /// <summary>
    /// Forces <paramref name="backend"/> with Q/O of <paramref name="qo"/> and K/V of <paramref name="kv"/> and checks it:
    /// a float32 output within <see cref="Tolerances.ForwardRelative"/> (relative Frobenius) of the exact answer, a
    /// half output element by element within <see cref="Tolerances.HalfOutputUlps"/> of its type at the exact value
    /// (plus the float32 bound times the output's RMS, for elements near zero), LSE within <see cref="Tolerances.LogSumExp"/>.
    /// </summary>
    internal static void AgainstReference(Backend backend, KernelCheck.Case c, Element qo, Element kv, int threads = 0)
    {
        var s = c.Shape;
        var (q32, k32, v32) = TestData.Qkv(s, c.Seed, scale: 1.5f);
        Array q = Narrow(q32, qo), k = Narrow(k32, kv), v = Narrow(v32, kv);
        var opts = new AttentionOptions
        {
            Backend = backend, Causal = c.Causal, Format = c.Format, Scale = c.Scale, MaxThreads = threads,
            QuerySegmentIds = c.QuerySegments, KeySegmentIds = c.KeySegments,
        };
        var o = NaNs(s.QueryElements, qo);
        var lse = Enumerable.Repeat(float.NaN, (int)s.LogSumExpElements).ToArray();
        var ran = Forward(q, k, v, o, s, c.Layout, opts, lse);
        if (backend != Backend.Auto) Assert.Equal(backend, ran);

        var eo = new float[s.QueryElements];
        var el = new float[s.LogSumExpElements];
        Forward(Widen(q), Narrow(Widen(k), kv), Narrow(Widen(v), kv), eo, s, c.Layout, opts with { Backend = Backend.Reference }, el);

        string what = $"{backend}, Q/O {qo}, K/V {kv}, {KernelCheck.Describe(c)}";
        var actual = Widen(o);
        if (qo == Element.F32)
        {
            double err = TestData.RelativeError(actual, eo);
            Assert.True(err <= Tolerances.ForwardRelative, $"{what}: output relative error {err:E2} > {Tolerances.ForwardRelative:E0}");
        }
        else
        {
            double rms = Math.Sqrt(eo.Sum(x => (double)x * x) / Math.Max(1, eo.Length));
            for (int i = 0; i < eo.Length; i++)
            {
                double bound = Tolerances.HalfOutputUlps * Ulp(eo[i], qo) + Tolerances.ForwardRelative * rms;
                double diff = Math.Abs((double)actual[i] - eo[i]);
                Assert.True(diff <= bound, $"{what}: output[{i}] = {actual[i]:R}, exact {eo[i]:R}: off by {diff:E2} > {bound:E2}");
            }
        }
        double lerr = TestData.MaxLseError(lse, el);
        Assert.True(lerr <= Tolerances.LogSumExp, $"{what}: LSE max error {lerr:E2} > {Tolerances.LogSumExp:E0}");
    }
}
