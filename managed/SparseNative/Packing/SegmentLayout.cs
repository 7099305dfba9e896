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
    /// Cost: one pass over each (query block, key block) pair's distinct ids, <c>O(QB·KB·blockSize)</c> at worst.
    /// </remarks>
    /// <param name="querySegmentIds"><c>[batch, queryLength]</c>, any int values.</param>
    /// <param name="keySegmentIds"><c>[batch, keyLength]</c>.</param>
    /// <param name="batch">Batch rows (≥ 1).</param>
    /// <param name="queryLength">Query tokens per row (≥ 1).</param>
    /// <param name="keyLength">Key tokens per row (≥ 1).</param>
    /// <param name="blockSize">16, 32, 64 or 128.</param>
    /// <param name="causal">Also drop blocks with no causally allowed pair (bottom-right alignment, as in <see cref="AttentionOptions.Causal"/>).</param>
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
            for (int r = 0; r < qb; r++)
                for (int c = 0; c < kb; c++)
                    if (!active[r].Contains(c) && Meet(queryIds[r], keyIds[c], causal, offset)) active[r].Add(c);
        }
        return BlockLayout.Build(blockSize, qb, kb, 1, (_, r, row) => row.AddRange(active[r]));
    }

    /// <summary>For each block, its distinct ids ascending with the last (or first) position of each.</summary>
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
            var pairs = map.Select(kv => (kv.Key, kv.Value)).ToArray();
            Array.Sort(pairs, (x, y) => x.Item1.CompareTo(y.Item1));
            result[blk] = pairs;
        }
        return result;
    }

    private static bool Meet((int Id, int Position)[] queries, (int Id, int Position)[] keys, bool causal, int offset)
    {
        int i = 0, j = 0;
        while (i < queries.Length && j < keys.Length)
        {
            if (queries[i].Id < keys[j].Id) i++;
            else if (queries[i].Id > keys[j].Id) j++;
            else
            {
                if (!causal || (long)keys[j].Position <= (long)queries[i].Position + offset) return true;
                i++; j++;
            }
        }
        return false;
    }
}
