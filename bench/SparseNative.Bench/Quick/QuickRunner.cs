using System.Diagnostics;
using SparseNative.Bench.Common;

namespace SparseNative.Bench.Quick;

/// <summary>The <c>quick</c> command: every section in one process, one Markdown report.</summary>
internal static class QuickRunner
{
    public static int Run(QuickOptions o)
    {
        long start = Stopwatch.GetTimestamp();
        var report = new MarkdownReport();
        if (MachineInfo.IsDebugBuild) report.Note("WARNING: Debug build: these figures are meaningless; run with -c Release.");
        report.Line($"## SparseNative quick benchmark ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC)");
        report.Line();
        report.Line($"Machine: {MachineInfo.Summary()}.");
        report.Line($"Backends available: {string.Join(", ", BackendCatalog.Available())}. Each is forced through AttentionOptions.Backend.");
        report.Line($"Load average (1/5/15 min) at start: {MachineInfo.LoadAverage()} on {Environment.ProcessorCount} cores.");
        report.Line($"Timing: median of {o.Runs} runs after 2 untimed warm-up runs, buffers allocated once and reused.");
        report.Line();

        // The peak comes first so each row can print its percentage as it finishes; it is re-measured at the end to show
        // whether the machine stayed quiet.
        var peaks = new PeakSection();
        peaks.Measure(o.Threads);
        peaks.Write(report, o.Threads);

        int bs = o.BlockSize, blocks = (o.Sequence + bs - 1) / bs;
        var shape = AttentionShape.SelfAttention(1, o.Heads, o.Sequence, o.HeadDim);
        var data = new BenchData(shape);
        var dense = new BenchCase("dense", BenchLayouts.Dense(bs, blocks, blocks), false, shape);
        var causal = new BenchCase("dense causal", BenchLayouts.LowerTriangle(bs, blocks), true, shape);
        var bigBird = new BenchCase("BigBird-like (window ±1, global 1, random 3)", BenchLayouts.BigBirdLike(bs, blocks, o.Heads), false, shape);
        KernelSection.Run(report, peaks, data, [dense, causal, bigBird], o.Threads, o.Runs);

        if (!o.SkipOrt)
        {
            var ort = new OrtSection(report, peaks, data, o.Runs);
            ort.MultiHeadAttention(dense, causal, o.Threads);
            ort.SparseAttentionPhi3(local: 4, verticalStride: 8, o.Threads);
        }

        DensitySection.Run(report, data, bs, o.Threads, o.Runs);
        if (o.Long) LongSequenceSection.Run(report, o.Threads, o.Runs);

        peaks.Measure(o.Threads);
        peaks.Write(report, o.Threads);
        report.Line($"Load average (1/5/15 min) at end: {MachineInfo.LoadAverage()}.");
        report.Line();
        report.Line($"Quick benchmark took {Stopwatch.GetElapsedTime(start).TotalSeconds:F0} s end to end.");
        if (o.OutFile is { } path)
        {
            File.WriteAllText(path, report.ToString());
            Console.Error.WriteLine($"Report written to {Path.GetFullPath(path)}");
        }
        return 0;
    }
}
