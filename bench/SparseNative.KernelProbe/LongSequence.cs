using System.Diagnostics;
using SparseNative;

namespace SparseNative.KernelProbe;

/// <summary>1,048,576 tokens, 4 heads, d = 64, causal sliding window of 4 blocks of 64: time and peak memory.</summary>
internal static class LongSequence
{
    public static void Run()
    {
        const int n = 1 << 20;
        var s = new AttentionShape(1, 4, 4, n, n, 64);
        var layout = KernelCases.Window(s, 64, 4);
        long inputs = 3 * s.QueryElements * sizeof(float), outputs = (s.QueryElements + s.LogSumExpElements) * sizeof(float);
        var q = new float[s.QueryElements]; var k = new float[s.KeyElements]; var v = new float[s.KeyElements];
        var rng = new Random(1);
        foreach (var a in new[] { q, k, v }) for (long i = 0; i < a.Length; i++) a[i] = (float)(rng.NextDouble() * 2 - 1);
        var o = new float[s.QueryElements];
        var lse = new float[s.LogSumExpElements];
        foreach (int threads in new[] { 1, 2 })
        {
            var opts = new AttentionOptions { Backend = Backend.Auto, MaxThreads = threads, Causal = true, CheckFinite = false };
            SparseAttention.Forward(q, k, v, o, s, layout, opts, lse); // warm-up
            var times = new List<double>();
            for (int rep = 0; rep < 3; rep++)
            {
                var sw = Stopwatch.StartNew();
                var ran = SparseAttention.Forward(q, k, v, o, s, layout, opts, lse);
                times.Add(sw.Elapsed.TotalMilliseconds);
                if (rep == 0) Console.Write($"long: {ran}, ");
            }
            times.Sort();
            Console.Write($"FMA peak now {FmaPeak.GflopsVector512(threads):F1} GFLOP/s; ");
            var kc = new KernelCase { Name = "", Shape = s, Layout = layout, Causal = true };
            Console.WriteLine($"1,048,576 tokens × 4 heads, d 64, window 4×64, causal, {threads} thread(s): {times[1]:F0} ms, " +
                $"{kc.Flops / (times[1] * 1e-3) / 1e9:F1} GFLOP/s");
        }
        using var self = Process.GetCurrentProcess();
        self.Refresh();
        Console.WriteLine($"long: inputs {inputs / (1 << 20)} MiB + outputs {outputs / (1 << 20)} MiB; process peak working set " +
            $"{self.PeakWorkingSet64 / (1 << 20)} MiB (includes the runtime and the layout's {layout.ActiveBlocks * 4 / 1024} KiB of column indices)");
    }
}
