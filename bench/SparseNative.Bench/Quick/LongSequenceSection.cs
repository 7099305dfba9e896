using System.Diagnostics;
using SparseNative.Bench.Common;
using static SparseNative.Bench.Quick.MarkdownReport;

namespace SparseNative.Bench.Quick;

/// <summary>
/// <c>--long</c>: 1,048,576 tokens, 4 heads, d = 64, causal sliding window of 4 blocks of 64. Shows the time and that
/// memory stays at inputs + outputs + O(n) workspace (the n×n score matrix would be 16 TiB).
/// </summary>
internal static class LongSequenceSection
{
    public const int Tokens = 1 << 20, Heads = 4, HeadDim = 64, BlockSize = 64, Window = 4;

    public static void Run(MarkdownReport report, IReadOnlyList<int> threads, int runs)
    {
        var shape = AttentionShape.SelfAttention(1, Heads, Tokens, HeadDim);
        int blocks = shape.QueryBlocks(BlockSize);
        report.Line($"### Long sequence: {Tokens:N0} tokens, {Heads} heads, d={HeadDim}, causal sliding window of {Window} blocks of {BlockSize}");
        report.Line();
        var backend = BackendCatalog.Available().FirstOrDefault(b => b != Backend.Reference);
        var layout = BenchLayouts.LocalWindow(BlockSize, blocks, Window);
        double flops = AttentionCost.Flops(shape, layout, causal: true);
        if (BackendCatalog.SkipReason(backend == default ? Backend.Reference : backend, flops) is { } why)
        {
            report.Note($"Long run skipped: no fast backend is available yet ({why}).");
            return;
        }
        long baseline = Process.GetCurrentProcess().WorkingSet64;
        var data = new BenchData(shape, seed: 99);
        double tensorGiB = 4.0 * (shape.QueryElements * 2 + shape.KeyElements * 2) / (1L << 30);
        report.Header("backend", "threads", "ms", "GFLOP/s", "inputs + output GiB", "peak working set GiB", "growth over inputs GiB",
            "managed alloc per call MiB");
        foreach (int t in threads)
        {
            var timing = Timing.Measure(() => BackendCatalog.Forward(data, layout, backend, true, t), runs, warmup: 1);
            long before = GC.GetTotalAllocatedBytes(precise: true);
            BackendCatalog.Forward(data, layout, backend, true, t);
            double allocMiB = (GC.GetTotalAllocatedBytes(precise: true) - before) / (1024.0 * 1024);
            var p = Process.GetCurrentProcess();
            p.Refresh();
            double peakGiB = p.PeakWorkingSet64 / (double)(1L << 30);
            report.Row(backend.ToString(), t.ToString(), F(timing.MedianMs), F(timing.Gflops(flops)), F(tensorGiB, 2), F(peakGiB, 2),
                F(peakGiB - tensorGiB - baseline / (double)(1L << 30), 2), F(allocMiB, 2));
        }
        report.Line();
        report.Note($"Peak working set is the whole process (runtime, ONNX Runtime sessions of earlier sections, {baseline / (1 << 20)} MiB before " +
                    "the long tensors were allocated); the growth column subtracts that baseline and the tensors.");
    }
}
