using SparseNative.Bench.Common;
using static SparseNative.Bench.Quick.MarkdownReport;

namespace SparseNative.Bench.Quick;

/// <summary>
/// (f) Time against density for one pattern family, the causal sliding window of w blocks: if the kernel skips inactive
/// blocks as it should, time per allowed pair stays flat and time falls in proportion to the active pairs.
/// </summary>
internal static class DensitySection
{
    public static void Run(MarkdownReport report, BenchData data, int blockSize, IReadOnlyList<int> threads, int runs)
    {
        var s = data.Shape;
        int blocks = s.QueryBlocks(blockSize);
        var windows = new[] { 1, 2, 4, 8, 16, 32, blocks }.Where(w => w <= blocks).Distinct().ToArray();
        var backends = BackendCatalog.Available().Where(b => b != Backend.Reference).Take(1).ToList();
        if (backends.Count == 0) backends = [Backend.Reference];
        report.Line($"### (f) Time vs density: causal sliding window of w blocks (block {blockSize}, S={s.QueryLength}); w={blocks} is dense causal");
        report.Line();
        report.Header("backend", "threads", "w (blocks)", "active blocks", "density", "allowed pairs", "ms", "GFLOP/s",
            "ns per pair", "time ÷ dense", "pairs ÷ dense");
        foreach (var backend in backends)
            foreach (int t in threads)
            {
                var rows = new List<(int W, BenchCase Case, Timing Time)>();
                foreach (int w in windows)
                {
                    var c = new BenchCase($"window {w}", BenchLayouts.LocalWindow(blockSize, blocks, w), true, s);
                    if (BackendCatalog.SkipReason(backend, c.Flops) is { } why) { report.Note(why + $" (w = {w})"); continue; }
                    rows.Add((w, c, Timing.Measure(() => BackendCatalog.Forward(data, c.Layout, backend, true, t), runs)));
                }
                if (rows.Count == 0) continue;
                var last = rows[^1];
                foreach (var (w, c, time) in rows)
                    report.Row(backend.ToString(), t.ToString(), w.ToString(), c.Layout.ActiveBlocks.ToString(),
                        $"{100 * c.Layout.Density:F1}%", c.Pairs.ToString(), F(time.MedianMs, 2), F(time.Gflops(c.Flops)),
                        F(time.MedianMs * 1e6 / c.Pairs, 3), F(time.MedianMs / last.Time.MedianMs, 3),
                        F((double)c.Pairs / last.Case.Pairs, 3));
            }
        report.Line();
    }
}
