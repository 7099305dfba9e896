using SparseNative.Bench.Common;
using static SparseNative.Bench.Quick.MarkdownReport;

namespace SparseNative.Bench.Quick;

/// <summary>One benchmark problem: a layout, causal or not, and its exact flop count.</summary>
internal sealed record BenchCase(string Name, BlockLayout Layout, bool Causal, AttentionShape Shape)
{
    public double Flops { get; } = AttentionCost.Flops(Shape, Layout, Causal);
    public long Pairs { get; } = AttentionCost.ActivePairs(Shape, Layout, Causal);
}

/// <summary>(b) and (c): every available backend on each case and thread count: time, GFLOP/s, fraction of the peak.</summary>
internal static class KernelSection
{
    public static void Run(MarkdownReport report, PeakSection peaks, BenchData data, IReadOnlyList<BenchCase> cases,
        IReadOnlyList<int> threads, int runs)
    {
        var s = data.Shape;
        report.Line($"### (b, c) Kernels: B={s.Batch}, H={s.QueryHeads}, S={s.QueryLength}, d={s.HeadDim}, block {cases[0].Layout.BlockSize}");
        report.Line();
        report.Header("case", "density", "backend", "threads", "ms", "GFLOP/s", "% of peak", "peak used");
        var notes = new HashSet<string>();
        foreach (var c in cases)
            foreach (var backend in BackendCatalog.Available())
            {
                if (BackendCatalog.SkipReason(backend, c.Flops) is { } why) { notes.Add(why); continue; }
                foreach (int t in threads)
                {
                    var timing = Timing.Measure(() => BackendCatalog.Forward(data, c.Layout, backend, c.Causal, t), runs);
                    double g = timing.Gflops(c.Flops);
                    string width = BackendCatalog.PeakWidth(backend) is { } w ? $"Vector{(int)w}×{t}" : "—";
                    report.Row(c.Name, $"{100 * c.Layout.Density:F1}%", backend.ToString(), t.ToString(), F(timing.MedianMs),
                        F(g), peaks.Percent(g, backend, t), width);
                }
            }
        report.Line();
        foreach (var n in notes) report.Note(n);
    }
}
