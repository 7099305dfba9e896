namespace SparseNative;

/// <summary>The block layout that per-token segment ids imply: only blocks where some query and key ids match are active.</summary>
public static class SegmentLayout
{
    /// <summary>
    /// Block <c>(r, c)</c> is active iff, in some batch row <c>b</c>, a query <c>i</c> of query block <c>r</c> and a key
    /// <c>j</c> of key block <c>c</c> have <c>querySegmentIds[b, i] == keySegmentIds[b, j]</c> and, when
    /// <paramref name="causal"/>, <c>j ≤ i + keyLength − queryLength</c>. So the layout skips exactly the blocks in which
    /// every pair would be masked; the segment ids themselves must still be passed to
    /// <see cref="AttentionOptions.QuerySegmentIds"/>/<see cref="AttentionOptions.KeySegmentIds"/> for the token-level rule.
    /// </summary>
    /// <remarks>
    /// Layouts are per head, not per batch row: with <paramref name="batch"/> &gt; 1 the result is the union over batch rows
    /// (a block is active if it is needed by any row). Rows with different packings therefore compute some blocks that are
    /// fully masked for them; group similar packings into one call, or call once per row, to avoid that.
    /// Cost: one pass over the ids, then per query block and distinct id, one step per key block holding that id: proportional
    /// to the tokens plus the active blocks for packed sequences and windows (ids in contiguous runs).
    /// </remarks>
    /// <param name="querySegmentIds"><c>[batch, queryLength]</c>, any int values.</param>
    /// <param name="keySegmentIds"><c>[batch, keyLength]</c>.</param>
    /// <param name="batch">Batch rows (≥ 1).</param>
    /// <param name="queryLength">Query tokens per row (≥ 1).</param>
    /// <param name="keyLength">Key tokens per row (≥ 1).</param>
    /// <param name="blockSize">16, 32, 64 or 128.</param>
    /// <param name="causal">Also drop blocks with no causally allowed pair (bottom-right alignment, as in <see cref="AttentionOptions.Causal"/>),
    /// and make the layout causal (<see cref="BlockLayout.IsCausal"/>), so attention over it applies the token causal mask.</param>
    /// <returns>A one-list layout of <c>ceil(queryLength / blockSize) × ceil(keyLength / blockSize)</c> blocks.</returns>
    public static BlockLayout FromSegmentIds(ReadOnlySpan<int> querySegmentIds, ReadOnlySpan<int> keySegmentIds, int batch,
        int queryLength, int keyLength, int blockSize, bool causal)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(queryLength);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(keyLength);
        BlockLayout.ValidateBlockSize(blockSize, nameof(blockSize));
        if (querySegmentIds.Length != (long)batch * queryLength)
            throw new ArgumentException(
                $"querySegmentIds has {querySegmentIds.Length} entries; batch·queryLength = {(long)batch * queryLength}.", nameof(querySegmentIds));
        if (keySegmentIds.Length != (long)batch * keyLength)
            throw new ArgumentException(
                $"keySegmentIds has {keySegmentIds.Length} entries; batch·keyLength = {(long)batch * keyLength}.", nameof(keySegmentIds));

        int qb = BlockLayout.BlocksFor(queryLength, blockSize), kb = BlockLayout.BlocksFor(keyLength, blockSize);
        int offset = keyLength - queryLength;
        var active = new HashSet<int>[qb];
        for (int r = 0; r < qb; r++) active[r] = [];
        for (int b = 0; b < batch; b++)
        {
            // Per block, each distinct id with its extreme position: a query block needs the id's LAST query (it sees the
            // most keys), a key block the id's FIRST key (the one most likely allowed). Then (r, c) is active iff some shared
            // id has firstKey ≤ lastQuery + offset.
            var queryIds = Summaries(querySegmentIds.Slice(b * queryLength, queryLength), blockSize, keepLast: true);
            var keyIds = Summaries(keySegmentIds.Slice(b * keyLength, keyLength), blockSize, keepLast: false);
            // Index: id → the key blocks holding it, ascending (so their first positions ascend too). Each query block then
            // visits only the key blocks of its own ids: linear in the active blocks, not in QB·KB.
            var blocksOfId = new Dictionary<int, List<(int Block, int FirstKey)>>();
            for (int c = 0; c < kb; c++)
                foreach (var (id, first) in keyIds[c])
                {
                    if (!blocksOfId.TryGetValue(id, out var list)) blocksOfId[id] = list = [];
                    list.Add((c, first));
                }
            for (int r = 0; r < qb; r++)
                foreach (var (id, lastQuery) in queryIds[r])
                {
                    if (!blocksOfId.TryGetValue(id, out var list)) continue;
                    foreach (var (c, firstKey) in list)
                    {
                        if (causal && (long)firstKey > (long)lastQuery + offset) break;
                        active[r].Add(c);
                    }
                }
        }
        return BlockLayout.Build(blockSize, qb, kb, 1, (_, r, row) => row.AddRange(active[r])).WithCausal(causal);
    }

    /// <summary>For each block, its distinct ids with the last (or first) position of each.</summary>
    private static (int Id, int Position)[][] Summaries(ReadOnlySpan<int> ids, int blockSize, bool keepLast)
    {
        int blocks = BlockLayout.BlocksFor(ids.Length, blockSize);
        var result = new (int, int)[blocks][];
        var map = new Dictionary<int, int>();
        for (int blk = 0; blk < blocks; blk++)
        {
            map.Clear();
            int t0 = blk * blockSize, t1 = Math.Min(t0 + blockSize, ids.Length);
            for (int t = t0; t < t1; t++)
                if (keepLast || !map.ContainsKey(ids[t])) map[ids[t]] = t;
            result[blk] = map.Select(kv => (kv.Key, kv.Value)).ToArray();
        }
        return result;
    }
}
