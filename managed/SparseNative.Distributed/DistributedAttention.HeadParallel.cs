namespace SparseNative.Distributed;

public static unsafe partial class DistributedAttention
{
    /// <summary>
    /// Head-parallel (DeepSpeed Ulysses): one all-to-all turns the sequence shards of Q, K and V into the whole sequence
    /// for a group of heads (rank r: query heads [r·Hq/P, (r+1)·Hq/P) and the matching key/value heads), each rank runs
    /// the single-process attention over the whole layout for its heads, and a second all-to-all returns O and the
    /// log-sum-exp to sequence shards. Nothing is merged; the result is the single-process one for those heads.
    /// </summary>
    private static void RunHeadParallel(Step step, Shard t)
    {
        var s = step.Shape;
        int ranks = step.Ranks;
        int hq = s.QueryHeads / ranks, hkv = s.KeyValueHeads / ranks;
        var format = step.Format;
        var group = s with { QueryHeads = hq, KeyValueHeads = hkv };
        var q = new HeadExchange(step, s.QueryHeads, hq, s.HeadDim, format);
        var kv = new HeadExchange(step, s.KeyValueHeads, hkv, s.HeadDim, format);
        var query = step.Buffer(checked((int)group.QueryElements));
        var key = step.Buffer(checked((int)group.KeyElements));
        var value = step.Buffer(checked((int)group.KeyElements));
        q.ToHeads(t.Query, query, out var a);
        kv.ToHeads(t.Key, key, out var b);
        kv.ToHeads(t.Value, value, out var c);
        var requests = new List<nint> { a.Request, b.Request, c.Request };
        step.Wait(requests, "the all-to-all of Q, K and V to head shards", null);
        a.Finish(); b.Finish(); c.Finish();

        var output = step.Buffer(query.Length);
        var lse = step.Buffer(checked((int)group.LogSumExpElements));
        SparseAttention.Forward(query, key, value, output, group, HeadsLayout(step.Plan.Layout, step.Rank * hq, hq),
            step.Attention with { Causal = step.Plan.Causal }, lse);

        var lseExchange = new HeadExchange(step, s.QueryHeads, hq, 1, TensorFormat.Bhsd); // [B, H, L] is BHSD with d = 1
        q.ToSequence(output, t.Output, out var back);
        lseExchange.ToSequence(lse, t.LogSumExp, out var backLse);
        requests.Add(back.Request); requests.Add(backLse.Request);
        step.Wait(requests, "the all-to-all of O and the log-sum-exp back to sequence shards", null);
        back.Finish(); backLse.Finish();
    }

    /// <summary>The layout of query heads [first, first + count) as heads 0…count−1 (list of head h is h mod LayoutCount).</summary>
    private static BlockLayout HeadsLayout(BlockLayout layout, int first, int count)
    {
        int lists = layout.LayoutCount;
        if (lists == 1 || (first % lists == 0 && count % lists == 0)) return layout;
        int rows = layout.QueryBlocks;
        var offsets = new int[count * (rows + 1)];
        var columns = new List<int>();
        for (int h = 0; h < count; h++)
        {
            var source = layout.RowOffsets(layout.ListForHead(first + h));
            var cols = layout.ColumnIndices(layout.ListForHead(first + h));
            for (int r = 0; r <= rows; r++) offsets[h * (rows + 1) + r] = source[r];
            columns.AddRange(cols.ToArray());
        }
        return BlockLayout.FromCsr(layout.BlockSize, rows, layout.KeyBlocks, offsets, columns.ToArray(), count).WithCausal(layout.IsCausal);
    }
}
