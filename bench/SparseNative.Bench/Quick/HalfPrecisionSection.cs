using SparseNative.Bench.Common;
using static SparseNative.Bench.Quick.MarkdownReport;

namespace SparseNative.Bench.Quick;

/// <summary>
/// (h) Prefill with half-precision tensors, beside the float32 rows of (b, c): every backend that takes the types, each
/// case and thread count — time, GFLOP/s and % of the float32 FMA peak, so the cost of widening on load shows directly.
/// The inputs are the float32 bench data rounded once; the flop count is the same as for float32.
/// </summary>
internal static class HalfPrecisionSection
{
    private sealed record Tensors(string Name, Func<BlockLayout, AttentionOptions, Backend> Forward);

    public static void Run(MarkdownReport report, PeakSection peaks, BenchData data, IReadOnlyList<BenchCase> cases,
        IReadOnlyList<int> threads, int runs)
    {
        var s = data.Shape;
        Half[] qh = ToHalf(data.Query), kh = ToHalf(data.Key), vh = ToHalf(data.Value), oh = new Half[data.Output.Length];
        BFloat16[] qb = ToBFloat16(data.Query), kb = ToBFloat16(data.Key), vb = ToBFloat16(data.Value), ob = new BFloat16[data.Output.Length];
        Tensors[] kinds =
        [
            new("fp16", (l, o) => SparseAttention.Forward<Half, Half>(qh, kh, vh, oh, s, l, o)),
            new("bf16", (l, o) => SparseAttention.Forward<BFloat16, BFloat16>(qb, kb, vb, ob, s, l, o)),
            new("fp32 Q/O, fp16 K/V", (l, o) => SparseAttention.Forward<float, Half>(data.Query, kh, vh, data.Output, s, l, o)),
            new("fp32 Q/O, bf16 K/V", (l, o) => SparseAttention.Forward<float, BFloat16>(data.Query, kb, vb, data.Output, s, l, o)),
        ];

        report.Line($"### (h) Half-precision prefill: B={s.Batch}, H={s.QueryHeads}, S={s.QueryLength}, d={s.HeadDim}, block {cases[0].Layout.BlockSize}");
        report.Line();
        report.Header("case", "tensors", "backend", "threads", "ms", "GFLOP/s", "% of fp32 peak");
        var notes = new HashSet<string>();
        foreach (var c in cases)
            foreach (var kind in kinds)
                foreach (var backend in BackendCatalog.Available())
                {
                    if (BackendCatalog.SkipReason(backend, c.Flops) is { } why) { notes.Add(why); continue; }
                    foreach (int t in threads)
                    {
                        var options = new AttentionOptions { Backend = backend, Causal = c.Causal, MaxThreads = t, CheckFinite = false };
                        try
                        {
                            var timing = Timing.Measure(() => kind.Forward(c.Layout, options), runs);
                            double g = timing.Gflops(c.Flops);
                            report.Row(c.Name, kind.Name, backend.ToString(), t.ToString(), F(timing.MedianMs), F(g), peaks.Percent(g, backend, t));
                        }
                        catch (BackendUnavailableException e)
                        {
                            notes.Add($"{backend}, {kind.Name}: {e.Message}");
                            break;
                        }
                    }
                }
        report.Line();
        foreach (var n in notes) report.Note(n);
    }

    private static Half[] ToHalf(float[] x) => Array.ConvertAll(x, v => (Half)v);
    private static BFloat16[] ToBFloat16(float[] x) => Array.ConvertAll(x, v => (BFloat16)v);
}
