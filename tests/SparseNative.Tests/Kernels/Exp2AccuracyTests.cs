using System.Runtime.Intrinsics;
using SparseNative.Kernels;
using SparseNative.Kernels.Isa;
using Xunit;

namespace SparseNative.Tests.Kernels;

/// <summary>
/// The vectorised 2^x of every ISA against Math.Exp(x · ln 2) in float64: relative error within
/// <see cref="Exp2Polynomial.MaxRelativeError"/> on [−125, 127], and exactly 0 for very negative inputs and −∞
/// (masked scores and the softmax sentinel rely on that).
/// </summary>
public unsafe class Exp2AccuracyTests
{
    public static TheoryData<string> Isas => new("Avx512", "Avx2", "Neon", "Portable");

    [Theory]
    [MemberData(nameof(Isas))]
    public void MatchesMathExpWithinStatedBound(string isa)
    {
        var x = new List<float>();
        for (double t = -125; t <= 127; t += 1.0 / 512) x.Add((float)t);           // every binade, many fractions
        var rng = new Random(1);
        for (int i = 0; i < 20000; i++) x.Add((float)(rng.NextDouble() * 20 - 20)); // the softmax range, densely
        var y = Evaluate(isa, x.ToArray());

        double worst = 0;
        for (int i = 0; i < x.Count; i++)
        {
            double expected = Math.Exp(x[i] * Math.Log(2.0));
            double rel = Math.Abs(y[i] - expected) / expected;
            Assert.True(rel <= Exp2Polynomial.MaxRelativeError, $"{isa}: 2^{x[i]} = {y[i]}, expected {expected}, relative error {rel:E2}");
            worst = Math.Max(worst, rel);
        }
        Assert.True(worst > 0); // the comparison did run
    }

    [Theory]
    [MemberData(nameof(Isas))]
    public void VeryNegativeInputsAndMinusInfinityGiveExactlyZero(string isa)
    {
        float[] x = [float.NegativeInfinity, -1e30f, -1e10f, -1000f, -200f, -127f, -126.75f, float.MinValue];
        var y = Evaluate(isa, x);
        for (int i = 0; i < x.Length; i++) Assert.True(y[i] == 0f, $"{isa}: 2^{x[i]} = {y[i]}, expected exactly 0");
        // Between −126.5 and −126 the result is tiny (possibly denormal) but finite and non-negative.
        var edge = Evaluate(isa, [-126.4f, -126f, 0f]);
        Assert.All(edge, v => Assert.True(float.IsFinite(v) && v >= 0));
        Assert.Equal(1f, edge[2]);
    }

    private static float[] Evaluate(string isa, float[] x)
    {
        switch (isa)
        {
            case "Avx512": Skip(Avx512Isa.UnavailableReason); return Run<Avx512Isa, Vector512<float>>(x);
            case "Avx2": Skip(Avx2Isa.UnavailableReason); return Run<Avx2Isa, Vector256<float>>(x);
            case "Neon": Skip(NeonIsa.UnavailableReason); return Run<NeonIsa, Vector128<float>>(x);
            default: Skip(PortableIsa.UnavailableReason); return Run<PortableIsa, Vector128<float>>(x);
        }
    }

    private static void Skip(string? reason)
    {
        if (reason is not null) Assert.Skip(reason);
    }

    private static float[] Run<TIsa, TVec>(float[] x) where TIsa : struct, ISimdIsa<TVec> where TVec : unmanaged
    {
        int w = TIsa.Width, n = (x.Length + w - 1) / w * w;
        var input = new float[n];
        x.CopyTo(input, 0);
        var output = new float[n];
        fixed (float* pi = input, po = output)
            for (int i = 0; i < n; i += w) TIsa.Store(po + i, Exp2Polynomial.Exp2<TIsa, TVec>(TIsa.Load(pi + i)));
        return output[..x.Length];
    }
}
