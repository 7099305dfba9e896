namespace SparseNative.Cli.Compute;

/// <summary>The dense-attention time a sparse run is compared with.</summary>
/// <param name="Milliseconds">Median time of the full dense problem (measured, or scaled from a measured part).</param>
/// <param name="Extrapolated">True when only the leading query blocks were timed.</param>
/// <param name="QueryBlocksTimed">Query blocks in the timed problem.</param>
/// <param name="QueryBlocks">Query blocks in the full problem.</param>
internal sealed record DenseResult(double Milliseconds, bool Extrapolated, int QueryBlocksTimed, int QueryBlocks);

/// <summary>
/// Times dense attention (every block; the causal triangle under <c>--causal</c>) on the same data and backend. When the full
/// problem would blow the time budget (a slow backend at long lengths), it times the first query blocks against every key and
/// scales by the query-block count: without the causal mask each query block does the same work, so this is proportional. Under
/// the causal mask it always runs in full (the rows differ).
/// </summary>
internal static class DenseTiming
{
    public static DenseResult Measure(TensorSet data, int blockSize, AttentionOptions options, double sparseMs, double sparseFlops,
        double budgetSeconds, int runs, CancellationToken cancel)
    {
        var s = data.Shape;
        int bs = blockSize, qb = s.QueryBlocks(bs);
        double denseFlops = 4.0 * s.HeadDim * AttentionCost.DensePairs(s, options.Causal);
        // Predict from the sparse run's rate on the same backend (dense usually runs at a higher rate, so this is pessimistic).
        // A warm-up call and at least one timed call must fit the budget.
        double predictedSeconds = 2 * sparseMs / 1e3 * denseFlops / Math.Max(sparseFlops, 1);
        int timedBlocks = qb;
        if (!options.Causal && predictedSeconds > budgetSeconds)
            timedBlocks = Math.Clamp((int)(qb * budgetSeconds / predictedSeconds), 1, qb);
        if (timedBlocks == qb)
        {
            var layout = options.Causal ? BlockPatterns.Causal(s.QueryLength, bs) : BlockPatterns.Dense(s.QueryLength, bs);
            var o = new float[s.QueryElements];
            var t = Timing.MeasureWithin(() => SparseAttention.Forward(data.Query, data.Key, data.Value, o, s, layout, options), runs, budgetSeconds, cancel);
            return new DenseResult(Timing.Median(t), false, qb, qb);
        }
        // The leading timedBlocks query blocks of every head, against all keys.
        int lq = timedBlocks * bs;
        var sub = s with { QueryLength = lq };
        var q = new float[sub.QueryElements];
        for (int b = 0; b < s.Batch; b++)
            for (int h = 0; h < s.QueryHeads; h++)
                Array.Copy(data.Query, data.RowIndex(b, h, 0, s.QueryHeads, s.QueryLength), q, ((long)b * s.QueryHeads + h) * lq * s.HeadDim, (long)lq * s.HeadDim);
        var subLayout = BlockPatterns.Dense(lq, bs, s.KeyLength);
        var so = new float[sub.QueryElements];
        var times = Timing.MeasureWithin(() => SparseAttention.Forward(q, data.Key, data.Value, so, sub, subLayout, options with { Format = TensorFormat.Bhsd }),
            runs, budgetSeconds, cancel);
        return new DenseResult(Timing.Median(times) * qb / timedBlocks, true, timedBlocks, qb);
    }
}
