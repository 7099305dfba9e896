using SparseNative.Bench.Common;
using static SparseNative.Bench.Quick.MarkdownReport;

namespace SparseNative.Bench.Quick;

/// <summary>
/// Decode at memory speed: the machine's read bandwidth (STREAM-like, per thread count), then one decode step — 1 query
/// token, 32 query heads over 8 K/V heads, d 128, 131,072 keys, block 64 — over dense and sparse layouts, from plain
/// tensors and from a paged cache, as GB/s of the bytes that must be read and as a percentage of the measured bandwidth.
/// </summary>
internal static class DecodeSection
{
    public const int Keys = 131072, QueryHeads = 32, KeyValueHeads = 8, HeadDim = 128, BlockSize = 64;

    public static void Run(MarkdownReport report, IReadOnlyList<int> threads, int runs)
    {
        var bandwidth = threads.ToDictionary(t => t, t => ReadBandwidth.Measure(t));
        report.Line($"### Read bandwidth: STREAM-like read loop over {ReadBandwidth.Bytes >> 30} GiB, fastest of 7 runs");
        report.Line();
        report.Header("threads", "GB/s");
        foreach (int t in threads) report.Row(t.ToString(), F(bandwidth[t]));
        report.Line();

        var s = new AttentionShape(1, QueryHeads, KeyValueHeads, 1, Keys, HeadDim);
        int kb = s.KeyBlocks(BlockSize);
        report.Line($"### Decode step: {s}, block {BlockSize}, fp32 K/V ({s.KeyElements * 4 >> 20} MiB each), causal, CheckFinite off");
        report.Line();
        var q = BenchData.Random(s.QueryElements, 1);
        var k = BenchData.Random(s.KeyElements, 2);
        var v = BenchData.Random(s.KeyElements, 3);
        var o = new float[s.QueryElements];
        // The same arrays as pages: kb pages of [8, 64, 128], visited through a shuffled block table (values do not matter here).
        var table = Enumerable.Range(0, kb).ToArray();
        new Random(7).Shuffle(table);
        var paged = KeyValueCache.Paged(kb, table, kb);
        var layouts = new (string Name, BlockLayout Layout)[]
        {
            ("dense", BlockLayout.FromPredicate(BlockSize, 1, kb, 1, (_, _, _) => true)),
            ("sparse: sink + 32-block window + every 32nd", BlockLayout.FromPredicate(BlockSize, 1, kb, 1, (_, _, c) => c == 0 || c >= kb - 32 || c % 32 == 31)),
        };
        report.Header("layout", "K/V", "backend", "threads", "ms / step", "GB/s read", "% of read bandwidth");
        foreach (var (name, layout) in layouts)
            foreach (var (form, cache) in new[] { ("contiguous", (KeyValueCache?)null), ("paged", paged) })
                foreach (int t in threads)
                {
                    // CheckFinite off: a decode loop checks each token as it is appended, not the whole cache every step.
                    var options = new AttentionOptions { Causal = true, MaxThreads = t, CheckFinite = false, KeyValueCache = cache };
                    Backend ran = Backend.Auto;
                    var timing = Timing.Measure(() => ran = SparseAttention.Forward(q, k, v, o, s, layout, options), runs);
                    // What must be read: every active K and V block once per K/V head, in its stored type (fp32 here).
                    double bytes = 2.0 * layout.ActiveBlocks * BlockSize * KeyValueHeads * HeadDim * sizeof(float);
                    double gbs = bytes / (timing.MedianMs * 1e-3) / 1e9;
                    report.Row(name, form, ran.ToString(), t.ToString(), F(timing.MedianMs, 2), F(gbs), F(100 * gbs / bandwidth[t]));
                }
        report.Line();
    }
}
