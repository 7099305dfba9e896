namespace SparseNative.Cli.Compute;

/// <summary>The outcome of comparing an output with <see cref="Backend.Reference"/> on some query blocks.</summary>
/// <param name="QueryBlocks">Query blocks checked (each with every batch and head).</param>
/// <param name="TotalQueryBlocks">Query blocks in the problem (all checked = a full check).</param>
/// <param name="Rows">Query rows checked (batch × heads × tokens).</param>
/// <param name="MaxAbsError">Largest |O − O_ref| over the checked elements.</param>
/// <param name="RelativeError">‖O − O_ref‖ / ‖O_ref‖ (Frobenius) over the checked rows.</param>
/// <param name="LseMaxAbsError">Largest |lse − lse_ref| over checked rows with a finite reference; ∞ if only one side is −∞.</param>
/// <param name="Seconds">Time spent in the reference.</param>
/// <param name="MaxAbsErrorAt">Where <paramref name="MaxAbsError"/> is (null when nothing was checked).</param>
internal sealed record CheckResult(int QueryBlocks, int TotalQueryBlocks, long Rows, double MaxAbsError, double RelativeError,
    double LseMaxAbsError, double Seconds, ElementIndex? MaxAbsErrorAt)
{
    public bool Full => QueryBlocks == TotalQueryBlocks;

    /// <summary>Whether the relative error is within <paramref name="tolerance"/> (a NaN error never is).</summary>
    public bool Passes(double tolerance) => RelativeError <= tolerance;

    /// <summary>The one line printed when the check fails: what exceeded the tolerance, by how much, and where.</summary>
    public string FailureMessage(double tolerance) =>
        $"check failed: relative error {RelativeError:G3} exceeds --tolerance {tolerance:G3}" +
        (RelativeError > 0 && tolerance > 0 ? $" ({RelativeError / tolerance:G3}×)" : "") +
        $"; max |O − O_ref| {MaxAbsError:G3}{(MaxAbsErrorAt is { } at ? $" at {at}" : "")}" +
        $", over {(Full ? "all" : $"{QueryBlocks} sampled of {TotalQueryBlocks}")} query blocks.";
}

/// <summary>One element of O: batch, query head, token, feature.</summary>
internal sealed record ElementIndex(int Batch, int Head, int Token, int Feature)
{
    public override string ToString() => $"batch {Batch}, head {Head}, token {Token}, feature {Feature}";
}

/// <summary>
/// Checks an attention output against the float64 reference without running the reference on the whole problem.
/// </summary>
/// <remarks>
/// For each sampled query block <c>r</c> (rows <c>i0 … i0+len−1</c>) it builds an exact sub-problem and runs
/// <see cref="Backend.Reference"/> on it: Q = those rows only; the layout = row <c>r</c> of every list; K and V = all keys,
/// except under the causal mask, where only the first <c>Lk' = i0 + len + (Lk − Lq)</c> keys can be seen, so K and V are
/// cut there. The sub-problem's bottom-right causal offset <c>Lk' − len = i0 + (Lk − Lq)</c> then maps its row
/// <c>t</c> to exactly the original rule <c>j ≤ (i0 + t) + (Lk − Lq)</c>. So the reference rows are the rows the full
/// reference would produce, at the cost of one query block each. Blocks 0 and the last are always checked (they hold the
/// edge cases: global rows, the causal corner, the token tail); the others are drawn with a fixed seed.
/// </remarks>
internal static class ReferenceCheck
{
    /// <summary>Which query blocks to check: all of them when there are at most <paramref name="maxBlocks"/>.</summary>
    public static int[] SampleBlocks(int queryBlocks, int maxBlocks, int seed)
    {
        if (queryBlocks <= maxBlocks) return Enumerable.Range(0, queryBlocks).ToArray();
        var chosen = new SortedSet<int> { 0, queryBlocks - 1 };
        var rng = new Random(seed);
        while (chosen.Count < maxBlocks) chosen.Add(rng.Next(queryBlocks));
        return chosen.ToArray();
    }

    /// <summary>
    /// Checks <c>output</c> (and <c>lse</c>) on <c>blocks</c>; <c>causal</c> is whether the attention that produced them was causal
    /// (<see cref="Causality.EffectiveCausal(BlockLayout, AttentionOptions)"/>); <c>step</c> is told before each block (progress).
    /// </summary>
    public static CheckResult Run(TensorSet t, BlockLayout layout, float scale, bool causal, int threads,
        ReadOnlySpan<float> output, ReadOnlySpan<float> lse, int[] blocks, CancellationToken cancel, Action<string>? step = null)
    {
        var s = t.Shape;
        int bs = layout.BlockSize, d = s.HeadDim, offset = s.KeyLength - s.QueryLength;
        double maxAbs = 0, lseMax = 0, diff2 = 0, ref2 = 0;
        long rows = 0;
        ElementIndex? worst = null;
        int done = 0;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        foreach (int r in blocks)
        {
            cancel.ThrowIfCancellationRequested();
            step?.Invoke($"reference check, query block {++done} of {blocks.Length}");
            int i0 = r * bs, len = Math.Min(bs, s.QueryLength - i0);
            int keys = causal ? Math.Min(s.KeyLength, i0 + len + offset) : s.KeyLength;
            var refO = new float[(long)s.Batch * s.QueryHeads * len * d];
            var refL = new float[(long)s.Batch * s.QueryHeads * len];
            if (keys <= 0)
                Array.Fill(refL, float.NegativeInfinity); // every row of this block is causally masked: O = 0, lse = −∞
            else
            {
                var sub = new AttentionShape(s.Batch, s.QueryHeads, s.KeyValueHeads, len, keys, d);
                var subLayout = RowOf(layout, r, sub.KeyBlocks(bs));
                var q = Gather(t.Query, t, s.QueryHeads, s.QueryLength, i0, len);
                var k = Gather(t.Key, t, s.KeyValueHeads, s.KeyLength, 0, keys);
                var v = Gather(t.Value, t, s.KeyValueHeads, s.KeyLength, 0, keys);
                SparseAttention.Forward(q, k, v, refO, sub, subLayout,
                    new AttentionOptions { Backend = Backend.Reference, Scale = scale, Causal = causal, MaxThreads = threads, Format = TensorFormat.Bhsd },
                    refL);
            }
            for (int b = 0; b < s.Batch; b++)
                for (int h = 0; h < s.QueryHeads; h++)
                    for (int tt = 0; tt < len; tt++)
                    {
                        long got = t.RowIndex(b, h, i0 + tt, s.QueryHeads, s.QueryLength);
                        long want = (((long)b * s.QueryHeads + h) * len + tt) * d;
                        for (int c = 0; c < d; c++)
                        {
                            double e = output[(int)(got + c)] - (double)refO[want + c];
                            double a = Math.Abs(e);
                            // The largest error, or the first NaN (which then stays: nothing is larger than "not a number").
                            if (worst is null || a > maxAbs || (double.IsNaN(a) && !double.IsNaN(maxAbs)))
                            {
                                maxAbs = a;
                                worst = new ElementIndex(b, h, i0 + tt, c);
                            }
                            diff2 += e * e;
                            ref2 += (double)refO[want + c] * refO[want + c];
                        }
                        if (!lse.IsEmpty)
                        {
                            float a = lse[(b * s.QueryHeads + h) * s.QueryLength + i0 + tt], w = refL[(b * s.QueryHeads + h) * len + tt];
                            if (float.IsNegativeInfinity(w) || float.IsNegativeInfinity(a))
                            {
                                if (a != w) lseMax = double.PositiveInfinity;
                            }
                            else lseMax = Math.Max(lseMax, Math.Abs(a - (double)w));
                        }
                        rows++;
                    }
        }
        double rel = ref2 > 0 ? Math.Sqrt(diff2 / ref2) : Math.Sqrt(diff2);
        return new CheckResult(blocks.Length, layout.QueryBlocks, rows, maxAbs, rel, lseMax, sw.Elapsed.TotalSeconds, worst);
    }

    // Row r of every list, as a one-row layout over the first keyBlocks key blocks.
    private static BlockLayout RowOf(BlockLayout layout, int r, int keyBlocks)
    {
        var offsets = new List<int>();
        var columns = new List<int>();
        for (int l = 0; l < layout.LayoutCount; l++)
        {
            int n = 0;
            foreach (int c in layout.Row(l, r))
                if (c < keyBlocks) { columns.Add(c); n++; }
            offsets.Add(0);
            offsets.Add(n);
        }
        return BlockLayout.FromCsr(layout.BlockSize, 1, keyBlocks, offsets.ToArray(), columns.ToArray(), layout.LayoutCount);
    }

    // Tokens [start, start + count) of every batch and head, copied into a BHSD tensor.
    private static float[] Gather(float[] src, TensorSet t, int heads, int length, int start, int count)
    {
        int d = t.Shape.HeadDim;
        var dst = new float[(long)t.Shape.Batch * heads * count * d];
        for (int b = 0; b < t.Shape.Batch; b++)
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < count; i++)
                    Array.Copy(src, t.RowIndex(b, h, start + i, heads, length), dst, (((long)b * heads + h) * count + i) * d, d);
        return dst;
    }
}
