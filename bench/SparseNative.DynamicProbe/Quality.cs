using System.Diagnostics;

namespace SparseNative.DynamicProbe;

/// <summary>Relative error of selected-block attention against dense attention on structured data, as a function of k and τ.</summary>
internal static class Quality
{
    public static void Run(int length, Backend backend, float strength)
    {
        var s = AttentionShape.SelfAttention(1, 4, length, 64);
        const int block = 64;
        var (q, k, v) = Synthetic.Topics(s, topics: 16, strength: strength, seed: 3);
        var options = new AttentionOptions { Causal = true, Backend = backend };
        var denseLayout = BlockLayout.FromPredicate(block, s.QueryBlocks(block), s.KeyBlocks(block), 1, (_, _, _) => true);
        var dense = new float[s.QueryElements];
        long t0 = Stopwatch.GetTimestamp();
        var ran = SparseAttention.Forward(q, k, v, dense, s, denseLayout, options);
        double denseMs = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        double denseFlops = AttentionCost.Flops(s, denseLayout, true);
        Console.WriteLine($"shape {s}, block {block}, causal, 16 planted topics (strength {strength}), backend {ran}; dense {denseMs:F0} ms");
        Console.WriteLine("| selection | blocks kept (density) | rel. error vs dense | flop speedup | measured speedup |");
        Console.WriteLine("| --- | --- | --- | --- | --- |");

        void Row(string name, BlockLayout layout)
        {
            var o = new float[s.QueryElements];
            long t = Stopwatch.GetTimestamp();
            SparseAttention.Forward(q, k, v, o, s, layout, options);
            double ms = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
            double flops = AttentionCost.Flops(s, layout, true);
            Console.WriteLine($"| {name} | {layout.Density:P1} | {RelativeError(o, dense):E2} | {denseFlops / flops:F1}× | {denseMs / ms:F1}× |");
        }
        foreach (int kk in new[] { 0, 1, 2, 4, 8, 16 })
            Row($"TopK K={kk} (+ sink, diagonal)", BlockSelection.TopK(q, k, s, block, new TopKOptions { K = kk, Causal = true }));
        foreach (double tau in new[] { 0.5, 0.8, 0.9, 0.95, 0.99 })
            Row($"TopK τ={tau}", BlockSelection.TopK(q, k, s, block, new TopKOptions { MassThreshold = tau, Causal = true }));
        foreach (int top in new[] { 1, 2 })
            Row($"Routing 16 clusters, top {top}", BlockSelection.Routing(q, k, s, block, new RoutingOptions { Clusters = 16, TopClusters = top, Causal = true }));
        // The same budget without looking at the data: sink + local window of 8 blocks.
        Row("fixed: sink + local window 8 (no selection)", BlockSelection.TopK(q, k, s, block, new TopKOptions { K = 0, KeepLocalWindow = 8, Causal = true }));
    }

    private static double RelativeError(float[] a, float[] b)
    {
        double num = 0, den = 0;
        for (int i = 0; i < a.Length; i++) { double e = (double)a[i] - b[i]; num += e * e; den += (double)b[i] * b[i]; }
        return Math.Sqrt(num / den);
    }
}
