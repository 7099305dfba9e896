using System.Diagnostics;

namespace SparseNative.Bench.Common;

/// <summary>Median and spread of repeated runs of one operation, in milliseconds.</summary>
internal readonly record struct Timing(double MedianMs, double MinMs, double MaxMs, int Runs)
{
    /// <summary>GFLOP/s at the median time.</summary>
    public double Gflops(double flops) => flops / (MedianMs * 1e-3) / 1e9;

    /// <summary>
    /// Runs <paramref name="action"/> <paramref name="warmup"/> times untimed (so buffers are touched, code is at tier 1 and
    /// pools are filled), then <paramref name="runs"/> times timed, and returns the median.
    /// </summary>
    public static Timing Measure(Action action, int runs, int warmup = 2)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(runs, 1);
        for (int i = 0; i < warmup; i++) action();
        var ms = new double[runs];
        for (int i = 0; i < runs; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            action();
            ms[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }
        Array.Sort(ms);
        double median = runs % 2 == 1 ? ms[runs / 2] : 0.5 * (ms[runs / 2 - 1] + ms[runs / 2]);
        return new Timing(median, ms[0], ms[^1], runs);
    }
}
