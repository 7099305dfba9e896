using System.Diagnostics;

namespace SparseNative.Cli.Compute;

/// <summary>Warm-up then timed runs; the median is reported because a shared machine makes single runs noisy.</summary>
internal static class Timing
{
    /// <summary>
    /// Runs <paramref name="action"/> <paramref name="warmup"/> times untimed, then <paramref name="runs"/> times timed; checks
    /// for cancellation between runs and tells <paramref name="step"/> (a progress display) before each.
    /// </summary>
    public static double[] Measure(Action action, int warmup, int runs, CancellationToken cancel, Action<string>? step = null)
    {
        for (int i = 0; i < warmup; i++)
        {
            cancel.ThrowIfCancellationRequested();
            step?.Invoke($"warm-up call {i + 1} of {warmup}");
            action();
        }
        var ms = new double[runs];
        for (int i = 0; i < runs; i++)
        {
            cancel.ThrowIfCancellationRequested();
            step?.Invoke($"timed call {i + 1} of {runs}");
            long t0 = Stopwatch.GetTimestamp();
            action();
            ms[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }
        return ms;
    }

    /// <summary>
    /// Like <see cref="Measure"/>, but when one call is slow (a slow backend on a long sequence) it does fewer timed runs so
    /// that they fit in <paramref name="budgetSeconds"/>, at least one. The first call is always untimed.
    /// </summary>
    public static double[] MeasureWithin(Action action, int runs, double budgetSeconds, CancellationToken cancel)
    {
        cancel.ThrowIfCancellationRequested();
        long t0 = Stopwatch.GetTimestamp();
        action();
        double first = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        int fit = first > 0 ? (int)Math.Min(runs, Math.Floor(budgetSeconds / first)) : runs;
        return Measure(action, 0, Math.Max(1, fit), cancel);
    }

    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0) return double.NaN;
        var s = values.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : 0.5 * (s[s.Length / 2 - 1] + s[s.Length / 2]);
    }
}
