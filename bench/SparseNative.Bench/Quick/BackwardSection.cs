using SparseNative.Bench.Common;
using static SparseNative.Bench.Quick.MarkdownReport;

namespace SparseNative.Bench.Quick;

/// <summary>
/// (g) The backward pass: every backend that has one, on the kernel section's cases and a causal-window density sweep.
/// Useful work is 10·d flops per allowed pair (five products, FlashAttention's convention: 2.5× the forward's 4·d);
/// time(backward) ÷ time(forward) is on the same problem, the forward also writing the log-sum-exp the backward needs.
/// </summary>
internal static class BackwardSection
{
    private const double FlopsPerPairPerDim = 10;

    public static void Run(MarkdownReport report, PeakSection peaks, BenchData data, IReadOnlyList<BenchCase> cases,
        IReadOnlyList<int> threads, int runs)
    {
        var s = data.Shape;
        var buffers = new Buffers(s);
        report.Line($"### (g) Backward: B={s.Batch}, H={s.QueryHeads}, S={s.QueryLength}, d={s.HeadDim}, block {cases[0].Layout.BlockSize}; 10·d flops per allowed pair");
        report.Line();
        report.Header("case", "density", "backend", "threads", "forward ms", "backward ms", "backward ÷ forward", "GFLOP/s", "% of peak");
        var notes = new HashSet<string>();
        var backends = WithBackward(data, buffers, cases[0], notes);
        foreach (var c in cases)
            foreach (var backend in backends)
            {
                double flops = FlopsPerPairPerDim * s.HeadDim * c.Pairs;
                if (BackendCatalog.SkipReason(backend, flops) is { } why) { notes.Add(why); continue; }
                foreach (int t in threads)
                {
                    var forward = Timing.Measure(() => buffers.Forward(data, c, backend, t), runs);
                    var backward = Timing.Measure(() => buffers.Backward(data, c, backend, t), runs);
                    double g = backward.Gflops(flops);
                    report.Row(c.Name, $"{100 * c.Layout.Density:F1}%", backend.ToString(), t.ToString(), F(forward.MedianMs),
                        F(backward.MedianMs), F(backward.MedianMs / forward.MedianMs, 2), F(g), peaks.Percent(g, backend, t));
                }
            }
        foreach (var n in notes) report.Note(n);
        report.Line();
        if (backends.Count > 0) Density(report, data, buffers, cases[0].Layout.BlockSize, backends[0], threads, runs);
    }

    /// <summary>Backward time against density for the causal sliding window: it should fall in proportion to the active pairs.</summary>
    private static void Density(MarkdownReport report, BenchData data, Buffers buffers, int blockSize, Backend backend,
        IReadOnlyList<int> threads, int runs)
    {
        var s = data.Shape;
        int blocks = s.QueryBlocks(blockSize);
        var windows = new[] { 1, 4, 16, blocks }.Where(w => w <= blocks).Distinct().ToArray();
        report.Line($"Backward time vs density ({backend}, causal sliding window of w blocks; w={blocks} is dense causal):");
        report.Line();
        report.Header("threads", "w (blocks)", "density", "allowed pairs", "backward ms", "ns per pair", "time ÷ dense", "pairs ÷ dense");
        foreach (int t in threads)
        {
            var rows = windows.Select(w => new BenchCase($"window {w}", BenchLayouts.LocalWindow(blockSize, blocks, w), true, s))
                .Select(c =>
                {
                    buffers.Forward(data, c, backend, t); // the backward reads this case's output and log-sum-exp
                    return (Case: c, Time: Timing.Measure(() => buffers.Backward(data, c, backend, t), runs));
                }).ToList();
            var last = rows[^1];
            foreach (var (c, time) in rows)
                report.Row(t.ToString(), c.Name[7..], $"{100 * c.Layout.Density:F1}%", c.Pairs.ToString(), F(time.MedianMs, 2),
                    F(time.MedianMs * 1e6 / c.Pairs, 3), F(time.MedianMs / last.Time.MedianMs, 3), F((double)c.Pairs / last.Case.Pairs, 3));
        }
        report.Line();
    }

    /// <summary>The available backends whose backward runs; the others are noted with the library's reason.</summary>
    private static List<Backend> WithBackward(BenchData data, Buffers buffers, BenchCase probe, HashSet<string> notes)
    {
        var result = new List<Backend>();
        foreach (var backend in BackendCatalog.Available())
        {
            try
            {
                // A backend too slow for this size (the float64 reference) is not probed at all: its forward alone could take minutes.
                if (BackendCatalog.SkipReason(backend, FlopsPerPairPerDim * data.Shape.HeadDim * probe.Pairs) is null)
                {
                    buffers.Forward(data, probe, backend, 1);
                    buffers.Backward(data, probe, backend, 1);
                }
                result.Add(backend);
            }
            catch (BackendUnavailableException e)
            {
                notes.Add(e.Message);
            }
        }
        return result;
    }

    /// <summary>The forward's log-sum-exp, dO and the three gradients, allocated and touched once.</summary>
    private sealed class Buffers(AttentionShape s)
    {
        private readonly float[] _lse = Filled(s.LogSumExpElements, 0f);
        private readonly float[] _dO = BenchData.Random(s.QueryElements, 7);
        private readonly float[] _dQ = Filled(s.QueryElements, 1f), _dK = Filled(s.KeyElements, 1f), _dV = Filled(s.KeyElements, 1f);

        private static float[] Filled(long n, float x)
        {
            var a = new float[n];
            Array.Fill(a, x);
            return a;
        }

        private static AttentionOptions Options(BenchCase c, Backend backend, int threads) =>
            new() { Backend = backend, Causal = c.Causal, MaxThreads = threads, CheckFinite = false };

        public void Forward(BenchData d, BenchCase c, Backend backend, int threads) =>
            SparseAttention.Forward(d.Query, d.Key, d.Value, d.Output, d.Shape, c.Layout, Options(c, backend, threads), _lse);

        /// <summary>Uses the output and log-sum-exp of the last <see cref="Forward"/> of the same case (the timing loop runs it first).</summary>
        public void Backward(BenchData d, BenchCase c, Backend backend, int threads) =>
            SparseAttention.Backward(d.Query, d.Key, d.Value, d.Output, _lse, _dO, _dQ, _dK, _dV, d.Shape, c.Layout, Options(c, backend, threads));
    }
}
