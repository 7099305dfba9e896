using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SparseNative.Bench.Common;

/// <summary>
/// The machine's read bandwidth, STREAM-like: each thread sums its own share of a buffer far larger than the caches with
/// four independent vector accumulators (a read-only loop: no write traffic). The yardstick of every decode row's
/// "% of read bandwidth": a decode step is memory bound, and this is what memory can give.
/// </summary>
internal static unsafe class ReadBandwidth
{
    /// <summary>1 GiB: far beyond any cache.</summary>
    public const long Bytes = 1L << 30;

    /// <summary>GB/s (10⁹ bytes) read by <paramref name="threads"/> threads together, from the fastest of the runs.</summary>
    public static double Measure(int threads, int runs = 7)
    {
        float* buffer = (float*)NativeMemory.AlignedAlloc((nuint)Bytes, 64);
        try
        {
            long floats = Bytes / sizeof(float);
            new Span<float>(buffer, (int)floats).Fill(1f); // touched once, untimed: the first touch of a page is slow here
            long share = floats / threads / 64 * 64;
            nint p = (nint)buffer;
            var timing = Timing.Measure(() => FmaPeak.RunConcurrently(Worker(p, share, threads), threads), runs, warmup: 2);
            return (double)share * threads * sizeof(float) / (timing.MinMs * 1e-3) / 1e9;
        }
        finally
        {
            NativeMemory.AlignedFree(buffer);
        }
    }

    /// <summary>Hands each of the run's threads its own share of the buffer.</summary>
    private static Func<float> Worker(nint buffer, long share, int threads)
    {
        int next = 0;
        return () =>
        {
            int t = Interlocked.Increment(ref next) - 1;
            return Sum((float*)buffer + t % threads * share, share);
        };
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Sum(float* p, long count)
    {
        int w = Vector<float>.Count;
        Vector<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (long i = 0; i + 4 * w <= count; i += 4 * w)
        {
            a0 += Unsafe.Read<Vector<float>>(p + i);
            a1 += Unsafe.Read<Vector<float>>(p + i + w);
            a2 += Unsafe.Read<Vector<float>>(p + i + 2 * w);
            a3 += Unsafe.Read<Vector<float>>(p + i + 3 * w);
        }
        return Vector.Sum(a0 + a1 + (a2 + a3));
    }
}
