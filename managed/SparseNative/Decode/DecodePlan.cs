namespace SparseNative.Decode;

/// <summary>
/// How the decode kernel cuts one call into work items. A call with few query rows per head (decoding, speculative decoding)
/// has one query block, so the work is the key side: the query heads that read the same K/V head through the same layout
/// list are computed together as one pass (each K/V block is then read once per group, not once per query head), and a
/// pass's active key blocks are cut into chunks of <see cref="ChunkKeys"/> keys that run on different cores
/// (flash-decoding). The chunking depends only on the layout, never on the thread count, and the chunks are merged in
/// index order, so the result is bitwise the same for any thread count.
/// </summary>
internal sealed class DecodePlan
{
    /// <summary>The most query rows per head the decode kernel takes (decoding and speculative decoding); longer go to the fused kernel.</summary>
    public const int MaxQueryRows = 16;

    /// <summary>The most rows (query heads × query rows) one pass computes together; more heads are split into several passes.</summary>
    public const int MaxPassRows = 64;

    /// <summary>Keys per chunk: 4096 keys of d 128 in fp32 are 4 MiB of K and V, far more than a merge costs.</summary>
    public const int ChunkKeys = 4096;

    /// <summary>Per pass: its query heads (one K/V head, one layout list), the K/V head, the list.</summary>
    public readonly int[][] Heads;
    public readonly int[] KeyValueHead, List, Chunks;

    /// <summary>Per item: batch row, pass and chunk. Items of one (batch, pass) are consecutive, in chunk order.</summary>
    public readonly int[] ItemBatch, ItemPass, ItemChunk;

    /// <summary>Rows of the widest pass, rounded up to 16 (the widest vector): the row stride of every pass's buffers.</summary>
    public readonly int RowStride;

    /// <summary>Active key blocks over all items (for the thread count).</summary>
    public readonly long ActiveBlocks;

    /// <summary>Whether the decode kernel takes this call: every query row lies in one query block and there are at most <see cref="MaxQueryRows"/>.</summary>
    public static bool Applies(AttentionShape shape, BlockLayout layout) =>
        shape.QueryLength <= MaxQueryRows && layout.QueryBlocks == 1;

    /// <summary>The most rows any pass computes: the query heads of a group that share a list, times the query rows.</summary>
    public static int WidestPass(AttentionShape shape, BlockLayout layout)
    {
        int g = shape.GroupSize, sharing = 0;
        for (int h = 0; h < g; h++) if (layout.ListForHead(h) == layout.ListForHead(0)) sharing++;
        return Math.Min(sharing, Math.Max(1, MaxPassRows / shape.QueryLength)) * shape.QueryLength;
    }

    public DecodePlan(AttentionShape shape, BlockLayout layout)
    {
        int group = shape.GroupSize, perPass = Math.Max(1, MaxPassRows / shape.QueryLength);
        var heads = new List<int[]>();
        var kvHead = new List<int>();
        var list = new List<int>();
        for (int kvh = 0; kvh < shape.KeyValueHeads; kvh++)
        {
            // The group's heads by layout list, in head order; each list's heads in passes of at most perPass heads.
            var byList = new SortedDictionary<int, List<int>>();
            for (int h = kvh * group; h < (kvh + 1) * group; h++)
            {
                int l = layout.ListForHead(h);
                if (!byList.TryGetValue(l, out var members)) byList[l] = members = [];
                members.Add(h);
            }
            foreach (var (l, members) in byList)
                for (int first = 0; first < members.Count; first += perPass)
                {
                    heads.Add(members.GetRange(first, Math.Min(perPass, members.Count - first)).ToArray());
                    kvHead.Add(kvh);
                    list.Add(l);
                }
        }
        Heads = heads.ToArray();
        KeyValueHead = kvHead.ToArray();
        List = list.ToArray();
        Chunks = new int[Heads.Length];
        int chunkBlocks = Math.Max(1, ChunkKeys / layout.BlockSize), widest = 0, perBatch = 0;
        long blocks = 0;
        for (int p = 0; p < Heads.Length; p++)
        {
            int n = layout.Row(List[p], 0).Length;
            Chunks[p] = Math.Max(1, (n + chunkBlocks - 1) / chunkBlocks);
            perBatch += Chunks[p];
            blocks += (long)n * Heads[p].Length;
            widest = Math.Max(widest, Heads[p].Length * shape.QueryLength);
        }
        RowStride = (widest + 15) / 16 * 16;
        ActiveBlocks = blocks * shape.Batch;
        int items = checked(perBatch * shape.Batch), item = 0;
        ItemBatch = new int[items]; ItemPass = new int[items]; ItemChunk = new int[items];
        for (int b = 0; b < shape.Batch; b++)
            for (int p = 0; p < Heads.Length; p++)
                for (int c = 0; c < Chunks[p]; c++, item++)
                {
                    ItemBatch[item] = b; ItemPass[item] = p; ItemChunk[item] = c;
                }
    }

    public int Items => ItemBatch.Length;

    /// <summary>Blocks <c>[start, end)</c> of a pass's list row that chunk <paramref name="chunk"/> covers (balanced, disjoint, in order).</summary>
    public (int Start, int End) ChunkRange(int pass, int chunk, int rowLength) =>
        ((int)((long)rowLength * chunk / Chunks[pass]), (int)((long)rowLength * (chunk + 1) / Chunks[pass]));

    /// <summary>Floats of one item's state: the unnormalised output rows, then the running max and sum of each row.</summary>
    public long StateFloats(int headDim) => (long)RowStride * (headDim + 2);

    /// <summary>Floats of one worker's scratch: Qᵀ, Sᵀ, the rescale factors and a padded K and V block.</summary>
    public long ScratchFloats(int blockSize, int headDim) =>
        (long)headDim * RowStride + (long)blockSize * RowStride + RowStride + 2L * blockSize * headDim;
}
