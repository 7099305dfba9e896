namespace SparseNative.DynamicProbe;

/// <summary>
/// One decode step (1 query token) against a long cache: 32 query heads, 8 K/V heads (GQA 4:1), d 128, block 64. Sparse layout:
/// sink block + 32-block local window + every 32nd block (≈ 5% of blocks); dense: every block. Forward and ForwardSplitKeys,
/// 1 and 2 threads.
/// </summary>
internal static class DecodeSpeed
{
    public static void Run(int keys, Backend backend, int reps)
    {
        Table(new AttentionShape(1, 32, 8, 1, keys, 128), backend, reps);
        // One query row in all: Forward has a single row to give its threads, so only the split over keys can use a second core.
        Table(new AttentionShape(1, 1, 1, 1, keys, 128), backend, reps);
    }

    private static void Table(AttentionShape s, Backend backend, int reps)
    {
        const int block = 64;
        int kb = s.KeyBlocks(block);
        var q = Synthetic.Uniform(s.QueryElements, 1);
        var k = Synthetic.Uniform(s.KeyElements, 2);
        var v = Synthetic.Uniform(s.KeyElements, 3);
        var o = new float[s.QueryElements];
        var sparse = BlockLayout.FromPredicate(block, 1, kb, 1, (_, _, c) => c == 0 || c >= kb - 32 || c % 32 == 31);
        var dense = BlockLayout.FromPredicate(block, 1, kb, 1, (_, _, _) => true);
        Console.WriteLine($"decode: {s}, block {block}; K and V {s.KeyElements * 4 / (1 << 20)} MiB each; sparse layout {sparse.ActiveBlocks} of {kb} blocks ({sparse.Density:P1}); median of {reps}");
        Console.WriteLine("| layout | method | threads | ms / step: median (fastest) | tokens/s (median) | GB/s of K+V read (median) |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- |");
        foreach (var (name, layout) in new[] { ("sparse 5%", sparse), ("dense", dense) })
            foreach (int threads in new[] { 1, 2 })
                foreach (bool split in new[] { false, true })
                {
                    // CheckFinite off: a decode loop validates its cache once, not every step (the scan would dominate at 1 GiB).
                    var opt = new AttentionOptions { Causal = true, Backend = backend, MaxThreads = threads, CheckFinite = false };
                    Backend ran = Backend.Auto;
                    var (ms, fastest) = Timing.Measure(reps, () => ran = split
                        ? SparseAttention.ForwardSplitKeys(q, k, v, o, s, layout, opt)
                        : SparseAttention.Forward(q, k, v, o, s, layout, opt));
                    double bytes = 2.0 * layout.ActiveBlocks * block * s.KeyValueHeads * s.HeadDim * 4;
                    Console.WriteLine($"| {name} | {(split ? "ForwardSplitKeys" : "Forward")} ({ran}) | {threads} | {ms:F1} ({fastest:F1}) | {1000 / ms:F1} | {bytes / ms / 1e6:F1} |");
                }

        // Choosing the blocks from the data at every step: TopK pools the whole key cache each call.
        Console.WriteLine("| selection for this step | threads | ms, median (fastest) | blocks kept |");
        Console.WriteLine("| --- | --- | --- | --- |");
        foreach (bool group in new[] { false, true })
            foreach (int threads in new[] { 1, 2 })
            {
                var topk = new TopKOptions { K = 64, KeepFirstBlocks = 1, KeepLocalWindow = 31, Causal = true, PerKeyValueGroup = group, MaxThreads = threads };
                BlockLayout selected = null!;
                var (ms, fastest) = Timing.Measure(reps, () => selected = BlockSelection.TopK(q, k, s, block, topk));
                Console.WriteLine($"| TopK K=64 + sink + window 31{(group ? ", per KV group" : "")} | {threads} | {ms:F1} ({fastest:F1}) | {selected.Density:P1} |");
            }

        // The same selection from block means kept up to date by appends (the whole cache appended once, untimed).
        var means = new KeyBlockMeans(1, s.KeyValueHeads, s.HeadDim, block);
        means.Append(k, s.KeyLength);
        foreach (int threads in new[] { 1, 2 })
        {
            var topk = new TopKOptions { K = 64, KeepFirstBlocks = 1, KeepLocalWindow = 31, Causal = true, MaxThreads = threads };
            BlockLayout selected = null!;
            var (ms, fastest) = Timing.Measure(reps, () => selected = BlockSelection.TopK(q, means, s, block, topk));
            Console.WriteLine($"| TopK K=64 + sink + window 31, from KeyBlockMeans | {threads} | {ms:F2} ({fastest:F2}) | {selected.Density:P1} |");
        }
        // Appending one decode step's key to a 128k-token summary (amortised over 64 appends; the summary keeps growing).
        var oneToken = Synthetic.Uniform(s.KeyValueHeads * s.HeadDim, 9);
        var (appendMs, appendFastest) = Timing.Measure(reps, () => { for (int i = 0; i < 64; i++) means.Append(oneToken, 1); });
        Console.WriteLine($"| KeyBlockMeans.Append, 1 token | - | {appendMs / 64 * 1000:F1} µs ({appendFastest / 64 * 1000:F1}) | - |");
    }
}
