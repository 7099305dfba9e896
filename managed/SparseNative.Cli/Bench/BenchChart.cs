using ScottPlot;

namespace SparseNative.Cli.Bench;

/// <summary>
/// The <c>bench --plot</c> chart, two panels: (1) time vs sequence length, log-log, one line per pattern (dense included) on
/// the fastest backend measured, so the gap between dense and sparse growth is visible; (2) GFLOP/s of each backend on each
/// pattern at the longest sequence length, grouped bars.
/// </summary>
internal static class BenchChart
{
    private static readonly Color[] Palette =
    [
        Color.FromHex("#1f3f8c"), Color.FromHex("#d1495b"), Color.FromHex("#2a9d8f"), Color.FromHex("#e9a03b"),
        Color.FromHex("#6a4c93"), Color.FromHex("#8d99ae"), Color.FromHex("#3d5a80"), Color.FromHex("#bc6c25"),
    ];

    public static void Save(IReadOnlyList<BenchResult> results, string path, string subtitle, int width = 1400, int height = 560)
    {
        var ok = results.Where(r => r.Skipped is null && double.IsFinite(r.MedianMs)).ToList();
        if (ok.Count == 0) throw new ArgumentException("Nothing was measured, so there is nothing to plot.", "--plot");
        var multiplot = new Multiplot();
        multiplot.AddPlots(2);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();
        TimePanel(multiplot.GetPlot(0), ok, subtitle);
        ThroughputPanel(multiplot.GetPlot(1), ok);
        multiplot.SavePng(path, width, height);
    }

    private static void TimePanel(Plot plot, List<BenchResult> ok, string subtitle)
    {
        // The backend with the lowest total time draws panel 1: one backend, so lines differ only by pattern.
        string backend = ok.GroupBy(r => r.Backend).OrderBy(g => g.Sum(r => r.MedianMs)).First().Key;
        var mine = ok.Where(r => r.Backend == backend).ToList();
        var patterns = mine.Select(r => r.Pattern).Distinct().ToList();
        for (int i = 0; i < patterns.Count; i++)
        {
            var pts = mine.Where(r => r.Pattern == patterns[i]).OrderBy(r => r.SequenceLength).ToList();
            var line = plot.Add.Scatter(pts.Select(r => Math.Log10(r.SequenceLength)).ToArray(), pts.Select(r => Math.Log10(r.MedianMs)).ToArray(),
                Palette[i % Palette.Length]);
            line.LegendText = patterns[i] == "dense" ? "dense (same backend, same data)" : patterns[i];
            line.LineWidth = patterns[i] == "dense" ? 3 : 2;
            line.MarkerSize = 7;
            if (patterns[i] == "dense") line.LinePattern = LinePattern.Dashed;
        }
        // Log axes: the data are log10 values; ticks are placed at the measured lengths and at 1-2-5 steps of time.
        var lengths = mine.Select(r => r.SequenceLength).Distinct().Order().ToArray();
        plot.Axes.Bottom.SetTicks(lengths.Select(x => Math.Log10(x)).ToArray(), lengths.Select(x => x.ToString()).ToArray());
        var ticks = OneTwoFive(mine.Min(r => r.MedianMs), mine.Max(r => r.MedianMs));
        plot.Axes.Left.SetTicks(ticks.Select(Math.Log10).ToArray(), ticks.Select(t => t >= 1 ? $"{t:0}" : $"{t:0.###}").ToArray());
        plot.Title($"Time vs sequence length on {backend}\n{subtitle}");
        plot.XLabel("sequence length (tokens, log scale)");
        plot.YLabel("median ms per call (log scale)");
        plot.ShowLegend(Alignment.UpperLeft);
    }

    private static void ThroughputPanel(Plot plot, List<BenchResult> ok)
    {
        int n = ok.Max(r => r.SequenceLength);
        var at = ok.Where(r => r.SequenceLength == n).ToList();
        var patterns = at.Select(r => r.Pattern).Distinct().ToList();
        var backends = at.Select(r => r.Backend).Distinct().ToList();
        double groupWidth = 0.8, barWidth = groupWidth / backends.Count;
        var bars = new List<Bar>();
        for (int p = 0; p < patterns.Count; p++)
            for (int b = 0; b < backends.Count; b++)
                if (at.FirstOrDefault(r => r.Pattern == patterns[p] && r.Backend == backends[b]) is { } r)
                    bars.Add(new Bar
                    {
                        Position = p - groupWidth / 2 + barWidth * (b + 0.5),
                        Value = r.Gflops,
                        Size = barWidth * 0.95,
                        FillColor = Palette[b % Palette.Length],
                        LineWidth = 0,
                    });
        plot.Add.Bars(bars);
        for (int b = 0; b < backends.Count; b++)
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = backends[b], FillColor = Palette[b % Palette.Length] });
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, patterns.Count).Select(i => (double)i).ToArray(), patterns.ToArray());
        plot.Axes.Margins(bottom: 0);
        plot.Title($"GFLOP/s per backend at {n} tokens");
        plot.YLabel("GFLOP/s (4·d flops per computed pair)");
        plot.ShowLegend(Alignment.UpperRight);
    }

    // 1, 2, 5 × 10^k covering [min, max], one step beyond each end.
    private static List<double> OneTwoFive(double min, double max)
    {
        var ticks = new List<double>();
        for (int k = (int)Math.Floor(Math.Log10(min)) - 1; k <= (int)Math.Ceiling(Math.Log10(max)); k++)
            foreach (double m in new[] { 1.0, 2.0, 5.0 })
            {
                double t = m * Math.Pow(10, k);
                if (t >= min / 2.5 && t <= max * 2.5) ticks.Add(t);
            }
        return ticks;
    }
}
