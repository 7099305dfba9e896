using System.Diagnostics;
using SparseNative.Bench.Common;

namespace SparseNative.Bench.Quick;

/// <summary>
/// The <c>quick</c> command: every section in one process. Progress goes to standard error as rows finish; the final
/// Markdown report (percentages against the better of the start and end peaks) goes to standard output and to <c>--out</c>.
/// </summary>
internal static class QuickRunner
{
    public static int Run(QuickOptions o)
    {
        long start = Stopwatch.GetTimestamp();
        BackendCatalog.Only = o.Backends;
        var head = new MarkdownReport();
        var body = new MarkdownReport();
        if (MachineInfo.IsDebugBuild) head.Note("WARNING: Debug build: these figures are meaningless; run with -c Release.");
        head.Line($"## SparseNative quick benchmark ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC)");
        head.Line();
        head.Line($"Machine: {MachineInfo.Summary()}.");
        head.Line($"Backends available: {string.Join(", ", BackendCatalog.Available())}. Each is forced through AttentionOptions.Backend.");
        head.Line($"Load average (1/5/15 min) at start: {MachineInfo.LoadAverage()} on {Environment.ProcessorCount} cores.");
        head.Line($"Timing: median of {o.Runs} runs after 2 untimed warm-up runs, buffers allocated once and reused.");
        head.Line();

        // The peak is measured first so each progress row can show a percentage, and again at the end (see PeakSection).
        var peaks = new PeakSection();
        peaks.Measure(o.Threads);

        int bs = o.BlockSize, blocks = (o.Sequence + bs - 1) / bs;
        var shape = AttentionShape.SelfAttention(1, o.Heads, o.Sequence, o.HeadDim);
        var data = new BenchData(shape);
        var dense = new BenchCase("dense", BenchLayouts.Dense(bs, blocks, blocks), false, shape);
        var causal = new BenchCase("dense causal", BenchLayouts.LowerTriangle(bs, blocks), true, shape);
        var bigBird = new BenchCase("BigBird-like (window ±1, global 1, random 3)", BenchLayouts.BigBirdLike(bs, blocks, o.Heads), false, shape);
        if (o.Includes("kernels")) KernelSection.Run(body, peaks, data, [dense, causal, bigBird], o.Threads, o.Runs);
        if (o.Includes("half")) HalfPrecisionSection.Run(body, peaks, data, [dense, causal, bigBird], o.Threads, o.Runs);
        if (o.Includes("backward")) BackwardSection.Run(body, peaks, data, [dense, causal, bigBird], o.Threads, o.Runs);

        if (o.Includes("ort"))
        {
            var ort = new OrtSection(body, peaks, data, o.Runs);
            ort.MultiHeadAttention(dense, causal, o.Threads);
            ort.SparseAttentionPhi3(local: 4, verticalStride: 8, o.Threads);
        }

        if (o.Includes("density")) DensitySection.Run(body, data, bs, o.Threads, o.Runs);
        if (o.Includes("decode")) DecodeSection.Run(body, o.Threads, o.Runs);
        if (o.Long) LongSequenceSection.Run(body, o.Threads, o.Runs);

        peaks.Measure(o.Threads);
        peaks.Write(head, o.Threads);
        body.Line($"Load average (1/5/15 min) at end: {MachineInfo.LoadAverage()}. " +
                  $"Quick benchmark took {Stopwatch.GetElapsedTime(start).TotalSeconds:F0} s end to end.");

        string markdown = head.Render() + body.Render();
        Console.Error.WriteLine();
        Console.Error.WriteLine("Final report (standard output):");
        Console.Out.Write(markdown);
        if (o.OutFile is { } path)
        {
            File.WriteAllText(path, markdown);
            Console.Error.WriteLine($"Report written to {Path.GetFullPath(path)}");
        }
        return 0;
    }
}
