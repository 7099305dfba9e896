using System.Diagnostics;

namespace SparseNative.DynamicProbe;

internal static class Timing
{
    /// <summary>Median wall time in milliseconds of <paramref name="reps"/> runs after untimed warm-ups (JIT tiers, first touches).</summary>
    public static double MedianMs(int reps, Action action, int warmups = 1) => Measure(reps, action, warmups).Median;

    /// <summary>Median and fastest of <paramref name="reps"/> timed runs (the fastest is the least disturbed by other load).</summary>
    public static (double Median, double Min) Measure(int reps, Action action, int warmups = 1)
    {
        for (int i = 0; i < warmups; i++) action();
        var times = new double[reps];
        for (int i = 0; i < reps; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            action();
            times[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }
        Array.Sort(times);
        return (times[reps / 2], times[0]);
    }

    /// <summary>
    /// CPU time (all threads of the process) per run, averaged over <paramref name="reps"/> runs: the work done, which other
    /// load on a shared machine inflates far less than wall time.
    /// </summary>
    public static double CpuMsPerRun(int reps, Action action)
    {
        var process = System.Diagnostics.Process.GetCurrentProcess();
        process.Refresh();
        var before = process.TotalProcessorTime;
        for (int i = 0; i < reps; i++) action();
        process.Refresh();
        return (process.TotalProcessorTime - before).TotalMilliseconds / reps;
    }
}
