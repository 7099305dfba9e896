using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SparseNative.KernelProbe;

/// <summary>
/// The machine's fp32 FMA peak under the current load: 12 independent register-resident FMA chains (enough to cover
/// the 4-cycle latency of two FMA pipes), so the loop is bound by FMA throughput alone.
/// </summary>
internal static class FmaPeak
{
    private const long Iterations = 20_000_000;

    public static double GflopsVector512(int threads) => Measure(threads, static () => Loop512(Iterations), 16);
    public static double GflopsVector256(int threads) => Measure(threads, static () => Loop256(Iterations), 8);

    /// <summary>One short sample (~10 ms at full speed) of the peak, to pair with a kernel sample taken right after it.</summary>
    public static double Sample(int width, int threads)
    {
        const long n = 4_000_000;
        var sw = Stopwatch.StartNew();
        if (threads == 1) { if (width == 16) Loop512(n); else Loop256(n); }
        else Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ => { if (width == 16) Loop512(n); else Loop256(n); });
        return threads * n * 12.0 * width * 2 / sw.Elapsed.TotalSeconds / 1e9;
    }

    private static double Measure(int threads, Func<float> loop, int width)
    {
        loop(); // JIT to the optimised tier first
        var samples = new List<double>();
        for (int rep = 0; rep < 5; rep++)
        {
            var sw = Stopwatch.StartNew();
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ => loop());
            samples.Add(threads * Iterations * 12.0 * width * 2 / sw.Elapsed.TotalSeconds / 1e9);
        }
        samples.Sort();
        return samples[samples.Count / 2];
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Loop512(long n)
    {
        var m = Vector512.Create(0.999f);
        var a = Vector512.Create(1e-3f);
        Vector512<float> x0 = m, x1 = m, x2 = m, x3 = m, x4 = m, x5 = m, x6 = m, x7 = m, x8 = m, x9 = m, x10 = m, x11 = m;
        for (long i = 0; i < n; i++)
        {
            x0 = Vector512.FusedMultiplyAdd(x0, m, a); x1 = Vector512.FusedMultiplyAdd(x1, m, a);
            x2 = Vector512.FusedMultiplyAdd(x2, m, a); x3 = Vector512.FusedMultiplyAdd(x3, m, a);
            x4 = Vector512.FusedMultiplyAdd(x4, m, a); x5 = Vector512.FusedMultiplyAdd(x5, m, a);
            x6 = Vector512.FusedMultiplyAdd(x6, m, a); x7 = Vector512.FusedMultiplyAdd(x7, m, a);
            x8 = Vector512.FusedMultiplyAdd(x8, m, a); x9 = Vector512.FusedMultiplyAdd(x9, m, a);
            x10 = Vector512.FusedMultiplyAdd(x10, m, a); x11 = Vector512.FusedMultiplyAdd(x11, m, a);
        }
        return Vector512.Sum(x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10 + x11);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Loop256(long n)
    {
        var m = Vector256.Create(0.999f);
        var a = Vector256.Create(1e-3f);
        Vector256<float> x0 = m, x1 = m, x2 = m, x3 = m, x4 = m, x5 = m, x6 = m, x7 = m, x8 = m, x9 = m, x10 = m, x11 = m;
        for (long i = 0; i < n; i++)
        {
            x0 = Vector256.FusedMultiplyAdd(x0, m, a); x1 = Vector256.FusedMultiplyAdd(x1, m, a);
            x2 = Vector256.FusedMultiplyAdd(x2, m, a); x3 = Vector256.FusedMultiplyAdd(x3, m, a);
            x4 = Vector256.FusedMultiplyAdd(x4, m, a); x5 = Vector256.FusedMultiplyAdd(x5, m, a);
            x6 = Vector256.FusedMultiplyAdd(x6, m, a); x7 = Vector256.FusedMultiplyAdd(x7, m, a);
            x8 = Vector256.FusedMultiplyAdd(x8, m, a); x9 = Vector256.FusedMultiplyAdd(x9, m, a);
            x10 = Vector256.FusedMultiplyAdd(x10, m, a); x11 = Vector256.FusedMultiplyAdd(x11, m, a);
        }
        return Vector256.Sum(x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10 + x11);
    }
}
