namespace SparseNative.Selection;

/// <summary>
/// Chooses the key blocks of one query block from its pooled scores. Holds the per-row buffers so a selection over
/// thousands of rows allocates only its results.
/// </summary>
internal sealed class RowSelector
{
    private readonly float[] _scores, _keys;
    private readonly int[] _order;
    private readonly bool[] _keep;

    public RowSelector(int keyBlocks)
    {
        _scores = new float[keyBlocks];
        _keys = new float[keyBlocks];
        _order = new int[keyBlocks];
        _keep = new bool[keyBlocks];
    }

    /// <summary>The buffer to fill with the pooled scores of key blocks <c>0 … n−1</c>.</summary>
    public Span<float> Scores(int n) => _scores.AsSpan(0, n);

    /// <summary>Keep-set ∪ (top K | τ-mass prefix) of the first <paramref name="n"/> key blocks, ascending.</summary>
    public int[] SelectTopK(int r, int n, BlockGeometry geo, TopKOptions o)
    {
        var keep = _keep.AsSpan(0, n);
        keep.Clear();
        geo.MarkKeepSet(r, o, n, keep);

        int take;
        if (o.MassThreshold is not { } tau)
        {
            // Rank only the blocks not already kept: K counts blocks beyond the keep-set.
            take = BestK(n, o.K, keep);
        }
        else
        {
            // Rank every candidate: the mass is a share of the softmax over all causally possible blocks.
            for (int c = 0; c < n; c++) _order[c] = c;
            SortDescending(n);
            take = MassPrefix(n, tau);
            if (o.MassMaxBlocks > 0) take = Math.Min(take, o.MassMaxBlocks);
        }
        for (int p = 0; p < take; p++) keep[_order[p]] = true;

        int count = 0;
        foreach (bool k in keep) if (k) count++;
        var result = new int[count];
        for (int c = 0, w = 0; c < n; c++) if (keep[c]) result[w++] = c;
        return result;
    }

    /// <summary>
    /// The <paramref name="k"/> best of the first <paramref name="n"/> blocks that are not kept, into <c>_order[0..k)</c>, in one
    /// pass with an insertion list (O(n) for the small k of practice; no full sort). A block displaces the last of the list only
    /// with a strictly higher score, and is inserted after equal scores: blocks arrive in ascending index, so ties keep the lower index.
    /// </summary>
    private int BestK(int n, int k, ReadOnlySpan<bool> keep)
    {
        int count = 0;
        for (int c = 0; c < n; c++)
        {
            if (keep[c]) continue;
            float score = _scores[c];
            if (count == k && (k == 0 || !(score > _keys[k - 1]))) continue;
            int at = count == k ? k - 1 : count++;
            while (at > 0 && score > _keys[at - 1]) { _keys[at] = _keys[at - 1]; _order[at] = _order[at - 1]; at--; }
            _keys[at] = score;
            _order[at] = c;
        }
        return count;
    }

    /// <summary>Sorts <c>_order[0..m)</c> by score, highest first; equal scores by ascending block index (deterministic).</summary>
    private void SortDescending(int m)
    {
        for (int p = 0; p < m; p++) _keys[p] = -_scores[_order[p]];
        Array.Sort(_keys, _order, 0, m);
        // Array.Sort is not stable: put each run of equal scores back in index order.
        for (int start = 0; start < m;)
        {
            int end = start + 1;
            while (end < m && _keys[end] == _keys[start]) end++;
            if (end - start > 1) Array.Sort(_order, start, end - start);
            start = end;
        }
    }

    /// <summary>The shortest prefix of the sorted candidates whose softmax share of all <paramref name="n"/> reaches τ.</summary>
    private int MassPrefix(int n, double tau)
    {
        if (n == 0) return 0;
        double max = _scores[_order[0]], total = 0;
        for (int p = 0; p < n; p++) total += Math.Exp(_scores[_order[p]] - max);
        double target = tau * total, cumulative = 0;
        for (int p = 0; p < n; p++)
        {
            cumulative += Math.Exp(_scores[_order[p]] - max);
            if (cumulative >= target) return p + 1;
        }
        return n; // rounding: τ = 1 may need every block
    }
}
