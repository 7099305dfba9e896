using System.Diagnostics;
using SparseNative;

namespace SparseNative.KernelProbe;

/// <summary>One timed problem: inputs allocated once and reused, so only the kernel is timed.</summary>
internal sealed class KernelCase
{
    public required string Name { get; init; }
    public required AttentionShape Shape { get; init; }
    public required BlockLayout Layout { get; init; }
    public bool Causal { get; init; }

    private float[]? _q, _k, _v, _o;

    /// <summary>Active (query, key) pairs counted at block granularity minus what the causal rule removes.</summary>
    public double Flops
    {
        get
        {
            long pairs = 0;
            int bs = Layout.BlockSize, s = Shape.QueryHeads;
            for (int h = 0; h < s; h++)
                for (int r = 0; r < Layout.QueryBlocks; r++)
                    foreach (int c in Layout.Row(Layout.ListForHead(h), r))
                    {
                        for (int i = r * bs; i < Math.Min((r + 1) * bs, Shape.QueryLength); i++)
                        {
                            int lo = c * bs, hi = Math.Min((c + 1) * bs, Shape.KeyLength) - 1;
                            if (Causal) hi = Math.Min(hi, i + Shape.KeyLength - Shape.QueryLength);
                            if (hi >= lo) pairs += hi - lo + 1;
                        }
                    }
            return 4.0 * Shape.HeadDim * pairs * Shape.Batch;
        }
    }

    /// <summary>
    /// Median time and GFLOP/s, and the median over samples of (kernel GFLOP/s ÷ FMA peak sampled just before it at
    /// <paramref name="peakWidth"/> floats per vector): pairing the two keeps the ratio meaningful on a shared machine.
    /// </summary>
    public (double Ms, double Gflops, double Fraction, double Peak) Measure(Backend backend, int threads, int peakWidth)
    {
        var rng = new Random(1);
        _q ??= Fill(Shape.QueryElements, rng); _k ??= Fill(Shape.KeyElements, rng); _v ??= Fill(Shape.KeyElements, rng);
        _o ??= new float[Shape.QueryElements];
        var opts = new AttentionOptions { Backend = backend, MaxThreads = threads, Causal = Causal, CheckFinite = false };
        for (int i = 0; i < 3; i++) SparseAttention.Forward(_q, _k, _v, _o, Shape, Layout, opts); // warm-up: JIT tiers, pages, pool
        double flops = Flops;
        var times = new List<double>();
        var fractions = new List<double>();
        var peaks = new List<double>();
        var total = Stopwatch.StartNew();
        while (times.Count < 7 || (total.Elapsed.TotalSeconds < 1.5 && times.Count < 40))
        {
            double peak = FmaPeak.Sample(peakWidth, threads);
            var sw = Stopwatch.StartNew();
            SparseAttention.Forward(_q, _k, _v, _o, Shape, Layout, opts);
            double ms = sw.Elapsed.TotalMilliseconds;
            times.Add(ms);
            peaks.Add(peak);
            fractions.Add(flops / (ms * 1e-3) / 1e9 / peak);
        }
        times.Sort(); fractions.Sort(); peaks.Sort();
        double median = times[times.Count / 2];
        return (median, flops / (median * 1e-3) / 1e9, fractions[fractions.Count / 2], peaks[peaks.Count / 2]);
    }

    private static float[] Fill(long n, Random rng)
    {
        var x = new float[n];
        for (long i = 0; i < n; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }
}

internal static class KernelCases
{
    public static IEnumerable<KernelCase> All()
    {
        var dense = new AttentionShape(1, 8, 8, 2048, 2048, 64);
        yield return new KernelCase { Name = "dense d64 b64 L2048 H8", Shape = dense, Layout = Dense(dense, 64) };
        yield return new KernelCase { Name = "causal d64 b64 L2048 H8", Shape = dense, Layout = Dense(dense, 64), Causal = true };
        var win = new AttentionShape(1, 4, 4, 16384, 16384, 64);
        yield return new KernelCase { Name = "window4 d64 b64 L16384 H4", Shape = win, Layout = Window(win, 64, 4) };
        var d128 = new AttentionShape(1, 8, 8, 2048, 2048, 128);
        yield return new KernelCase { Name = "dense d128 b64 L2048 H8", Shape = d128, Layout = Dense(d128, 64) };
        yield return new KernelCase { Name = "dense d64 b128 L2048 H8", Shape = dense, Layout = Dense(dense, 128) };
        yield return new KernelCase { Name = "dense d64 b32 L2048 H8", Shape = dense, Layout = Dense(dense, 32) };
    }

    public static BlockLayout Dense(AttentionShape s, int bs) =>
        BlockLayout.FromPredicate(bs, s.QueryBlocks(bs), s.KeyBlocks(bs), 1, (_, _, _) => true);

    /// <summary>Causal sliding window: query block r sees key blocks [r − w + 1, r].</summary>
    public static BlockLayout Window(AttentionShape s, int bs, int w)
    {
        int qb = s.QueryBlocks(bs);
        var offsets = new int[qb + 1];
        var cols = new List<int>();
        for (int r = 0; r < qb; r++)
        {
            for (int c = Math.Max(0, r - w + 1); c <= r; c++) cols.Add(c);
            offsets[r + 1] = cols.Count;
        }
        return BlockLayout.FromCsr(bs, qb, s.KeyBlocks(bs), offsets, cols.ToArray());
    }
}
