using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SparseNative.Bench.Common;

/// <summary>The SIMD widths whose fp32 FMA peak is measured.</summary>
internal enum VectorWidth
{
    V128 = 128,
    V256 = 256,
    V512 = 512,
}

/// <summary>
/// The machine's fp32 FMA peak as C# can reach it: a loop of independent fused multiply-adds on accumulators that stay
/// in registers (no loads or stores), run on N threads at once. Each FMA on a W-bit vector is 2·W/32 flops.
/// </summary>
/// <remarks>
/// Twelve accumulators hide the FMA latency (4 cycles on Zen 4/5 with two FMA pipes needs ≥ 8 in flight); more would
/// spill on AVX2 with 16 registers. The multiplier and addend are chosen so values stay finite and normal forever
/// (x ← x·a + b with a slightly below 1 converges to b/(1−a)), so no denormal slow path can distort the figure.
/// </remarks>
internal static class FmaPeak
{
    /// <summary>FMA instructions each thread issues per <see cref="Kernel512"/> (or 256/128) call.</summary>
    public const long FmasPerCall = 12L * Iterations;
    private const int Iterations = 1 << 23; // ≈ 15 ms a call at 512 bits: thread start-up is noise

    /// <summary>Whether vectors of this width are hardware accelerated (so a peak means something).</summary>
    public static bool IsAccelerated(VectorWidth w) => w switch
    {
        VectorWidth.V512 => Vector512.IsHardwareAccelerated,
        VectorWidth.V256 => Vector256.IsHardwareAccelerated,
        _ => Vector128.IsHardwareAccelerated,
    };

    /// <summary>Flops of one kernel call on one thread.</summary>
    public static double FlopsPerCall(VectorWidth w) => FmasPerCall * 2.0 * ((int)w / 32);

    /// <summary>
    /// GFLOP/s with <paramref name="threads"/> threads running the kernel concurrently, from the fastest of the runs: a
    /// peak is a capability, and interference from other processes can only slow a run down, never speed it up.
    /// </summary>
    public static double Measure(VectorWidth width, int threads, int runs = 7)
    {
        Func<float> kernel = width switch
        {
            VectorWidth.V512 => Kernel512,
            VectorWidth.V256 => Kernel256,
            _ => Kernel128,
        };
        var timing = Timing.Measure(() => RunConcurrently(kernel, threads), runs, warmup: 2);
        return FlopsPerCall(width) * threads / (timing.MinMs * 1e-3) / 1e9;
    }

    /// <summary>Runs the kernel once on each of <paramref name="threads"/> dedicated threads, started together.</summary>
    public static void RunConcurrently(Func<float> kernel, int threads)
    {
        if (threads == 1) { Sink(kernel()); return; }
        using var start = new ManualResetEventSlim(false);
        var workers = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            workers[t] = new Thread(() => { start.Wait(); Sink(kernel()); }) { IsBackground = true };
            workers[t].Start();
        }
        start.Set();
        foreach (var w in workers) w.Join();
    }

    private static float s_sink;

    // Keeps the result observable so the JIT cannot drop the loop (the value itself is never used).
    private static void Sink(float value) => Interlocked.Exchange(ref s_sink, value);

    /// <summary>12 independent Vector512 FMA chains.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static float Kernel512()
    {
        var a = Vector512.Create(0.999f); var b = Vector512.Create(0.001f);
        Vector512<float> x0 = Vector512.Create(1.0f), x1 = Vector512.Create(1.1f), x2 = Vector512.Create(1.2f), x3 = Vector512.Create(1.3f),
            x4 = Vector512.Create(1.4f), x5 = Vector512.Create(1.5f), x6 = Vector512.Create(1.6f), x7 = Vector512.Create(1.7f),
            x8 = Vector512.Create(1.8f), x9 = Vector512.Create(1.9f), x10 = Vector512.Create(2.0f), x11 = Vector512.Create(2.1f);
        for (int i = 0; i < Iterations; i++)
        {
            x0 = Vector512.FusedMultiplyAdd(x0, a, b); x1 = Vector512.FusedMultiplyAdd(x1, a, b);
            x2 = Vector512.FusedMultiplyAdd(x2, a, b); x3 = Vector512.FusedMultiplyAdd(x3, a, b);
            x4 = Vector512.FusedMultiplyAdd(x4, a, b); x5 = Vector512.FusedMultiplyAdd(x5, a, b);
            x6 = Vector512.FusedMultiplyAdd(x6, a, b); x7 = Vector512.FusedMultiplyAdd(x7, a, b);
            x8 = Vector512.FusedMultiplyAdd(x8, a, b); x9 = Vector512.FusedMultiplyAdd(x9, a, b);
            x10 = Vector512.FusedMultiplyAdd(x10, a, b); x11 = Vector512.FusedMultiplyAdd(x11, a, b);
        }
        return Vector512.Sum(x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10 + x11);
    }

    /// <summary>12 independent Vector256 FMA chains.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static float Kernel256()
    {
        var a = Vector256.Create(0.999f); var b = Vector256.Create(0.001f);
        Vector256<float> x0 = Vector256.Create(1.0f), x1 = Vector256.Create(1.1f), x2 = Vector256.Create(1.2f), x3 = Vector256.Create(1.3f),
            x4 = Vector256.Create(1.4f), x5 = Vector256.Create(1.5f), x6 = Vector256.Create(1.6f), x7 = Vector256.Create(1.7f),
            x8 = Vector256.Create(1.8f), x9 = Vector256.Create(1.9f), x10 = Vector256.Create(2.0f), x11 = Vector256.Create(2.1f);
        for (int i = 0; i < Iterations; i++)
        {
            x0 = Vector256.FusedMultiplyAdd(x0, a, b); x1 = Vector256.FusedMultiplyAdd(x1, a, b);
            x2 = Vector256.FusedMultiplyAdd(x2, a, b); x3 = Vector256.FusedMultiplyAdd(x3, a, b);
            x4 = Vector256.FusedMultiplyAdd(x4, a, b); x5 = Vector256.FusedMultiplyAdd(x5, a, b);
            x6 = Vector256.FusedMultiplyAdd(x6, a, b); x7 = Vector256.FusedMultiplyAdd(x7, a, b);
            x8 = Vector256.FusedMultiplyAdd(x8, a, b); x9 = Vector256.FusedMultiplyAdd(x9, a, b);
            x10 = Vector256.FusedMultiplyAdd(x10, a, b); x11 = Vector256.FusedMultiplyAdd(x11, a, b);
        }
        return Vector256.Sum(x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10 + x11);
    }

    /// <summary>12 independent Vector128 FMA chains (the Portable and Neon paths' width).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static float Kernel128()
    {
        var a = Vector128.Create(0.999f); var b = Vector128.Create(0.001f);
        Vector128<float> x0 = Vector128.Create(1.0f), x1 = Vector128.Create(1.1f), x2 = Vector128.Create(1.2f), x3 = Vector128.Create(1.3f),
            x4 = Vector128.Create(1.4f), x5 = Vector128.Create(1.5f), x6 = Vector128.Create(1.6f), x7 = Vector128.Create(1.7f),
            x8 = Vector128.Create(1.8f), x9 = Vector128.Create(1.9f), x10 = Vector128.Create(2.0f), x11 = Vector128.Create(2.1f);
        for (int i = 0; i < Iterations; i++)
        {
            x0 = Vector128.FusedMultiplyAdd(x0, a, b); x1 = Vector128.FusedMultiplyAdd(x1, a, b);
            x2 = Vector128.FusedMultiplyAdd(x2, a, b); x3 = Vector128.FusedMultiplyAdd(x3, a, b);
            x4 = Vector128.FusedMultiplyAdd(x4, a, b); x5 = Vector128.FusedMultiplyAdd(x5, a, b);
            x6 = Vector128.FusedMultiplyAdd(x6, a, b); x7 = Vector128.FusedMultiplyAdd(x7, a, b);
            x8 = Vector128.FusedMultiplyAdd(x8, a, b); x9 = Vector128.FusedMultiplyAdd(x9, a, b);
            x10 = Vector128.FusedMultiplyAdd(x10, a, b); x11 = Vector128.FusedMultiplyAdd(x11, a, b);
        }
        return Vector128.Sum(x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10 + x11);
    }
}
