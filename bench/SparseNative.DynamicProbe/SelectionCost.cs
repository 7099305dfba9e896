using System.Diagnostics;

namespace SparseNative.DynamicProbe;

/// <summary>What a selection costs next to the attention it saves (issue 6 asks for ≤ 5% at 16k tokens, 8 heads, d 64, block 64).</summary>
internal static class SelectionCost
{
    // A fast fp32 kernel's dense speed on this machine, for context: ONNX Runtime's MultiHeadAttention, 1 thread (REFERENCES.md).
    private const double PeerGflops = 173;

    public static void Run(int length, Backend backend, bool timeAttention, float strength)
    {
        var s = AttentionShape.SelfAttention(1, 8, length, 64);
        const int block = 64;
        var (q, k, v) = Synthetic.Topics(s, topics: 16, strength: strength, seed: 1);
        double denseFlops = AttentionCost.Flops(s, BlockLayout.FromPredicate(block, s.QueryBlocks(block), s.KeyBlocks(block), 1, (_, _, _) => true), causal: true);
        Console.WriteLine($"shape {s}, block {block}, causal; dense causal attention = {denseFlops / 1e9:F1} GFLOP");

        // The attention rate of the backend that would run, measured once on a K=8 selection (sparse attention time ∝ its flops).
        double rate = PeerGflops;
        string rateSource = $"{PeerGflops} GFLOP/s (ONNX Runtime dense, 1 thread, REFERENCES.md)";
        if (timeAttention)
        {
            var layout = BlockSelection.TopK(q, k, s, block, new TopKOptions { K = 8, Causal = true });
            var o = new float[s.QueryElements];
            long t0 = Stopwatch.GetTimestamp();
            var ran = SparseAttention.Forward(q, k, v, o, s, layout, new AttentionOptions { Causal = true, Backend = backend });
            double ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            rate = AttentionCost.Flops(s, layout, true) / (ms * 1e6);
            Console.WriteLine($"measured: sparse attention over the K=8 selection, backend {ran}: {ms:F0} ms = {rate:F2} GFLOP/s; " +
                              $"dense at that rate ≈ {denseFlops / rate / 1e6:F0} ms");
            rateSource = $"{rate:F2} GFLOP/s (measured, {ran})";
        }
        Console.WriteLine($"saved time = (dense − selected) flops at {rateSource}");
        Console.WriteLine("| selection | select ms: median (fastest) of 7 | density | attention GFLOP | saved ms | select / saved: median (fastest) | CPU ms per selection (all threads) |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- |");
        var cases = new (string Name, Func<BlockLayout> Select)[]
        {
            ("TopK K=8 (+ sink, diagonal)", () => BlockSelection.TopK(q, k, s, block, new TopKOptions { K = 8, Causal = true })),
            ("TopK K=8, 1 thread", () => BlockSelection.TopK(q, k, s, block, new TopKOptions { K = 8, Causal = true, MaxThreads = 1 })),
            ("TopK τ=0.9", () => BlockSelection.TopK(q, k, s, block, new TopKOptions { MassThreshold = 0.9, Causal = true })),
            ("TopK τ=0.9, 1 thread", () => BlockSelection.TopK(q, k, s, block, new TopKOptions { MassThreshold = 0.9, Causal = true, MaxThreads = 1 })),
            ("Routing 16 clusters, 10 iterations", () => BlockSelection.Routing(q, k, s, block, new RoutingOptions { Clusters = 16, Causal = true })),
            ("Routing, 1 thread", () => BlockSelection.Routing(q, k, s, block, new RoutingOptions { Clusters = 16, Causal = true, MaxThreads = 1 })),
        };
        foreach (var (name, select) in cases)
        {
            BlockLayout layout = null!;
            var (ms, fastest) = Timing.Measure(7, () => layout = select(), warmups: 3);
            double cpu = Timing.CpuMsPerRun(7, () => layout = select());
            double flops = AttentionCost.Flops(s, layout, causal: true);
            double savedMs = (denseFlops - flops) / (rate * 1e6);
            Console.WriteLine($"| {name} | {ms:F1} ({fastest:F1}) | {layout.Density:P1} | {flops / 1e9:F2} | {savedMs:F0} | {ms / savedMs:P2} ({fastest / savedMs:P2}) | {cpu:F1} |");
        }
    }
}
