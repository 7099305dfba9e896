namespace SparseNative.Tests.Dynamic;

/// <summary>
/// Float64 re-derivations of the selection rules, written from docs/DYNAMIC.md at token level (no shared code with the
/// library's BlockGeometry/BlockPooling): pooled means, pooled scores, causally possible blocks and the keep-set.
/// </summary>
internal static class BruteSelection
{
    public static double[] PooledMean(float[] x, AttentionShape s, TensorFormat f, int b, int h, int heads, int length, int block, int blk)
    {
        var mean = new double[s.HeadDim];
        int t0 = blk * block, t1 = Math.Min(t0 + block, length);
        for (int t = t0; t < t1; t++)
        {
            int o = NaiveDense.Idx(f, s, b, h, heads, length, t);
            for (int c = 0; c < s.HeadDim; c++) mean[c] += x[o + c];
        }
        for (int c = 0; c < s.HeadDim; c++) mean[c] /= t1 - t0;
        return mean;
    }

    /// <summary>Pooled scores <c>[QB, KB]</c> of query head <paramref name="h"/> (or the group mean when <paramref name="group"/>).</summary>
    public static double[,] Scores(float[] q, float[] k, AttentionShape s, int block, int b, int h, bool group, TensorFormat f = TensorFormat.Bhsd, double? scale = null)
    {
        int qb = s.QueryBlocks(block), kb = s.KeyBlocks(block);
        double sc = scale ?? 1.0 / Math.Sqrt(s.HeadDim);
        var result = new double[qb, kb];
        int g = s.GroupSize;
        int[] heads = group ? Enumerable.Range(h / g * g, g).ToArray() : [h];
        for (int r = 0; r < qb; r++)
            for (int c = 0; c < kb; c++)
            {
                var pk = PooledMean(k, s, f, b, h / g, s.KeyValueHeads, s.KeyLength, block, c);
                double sum = 0;
                foreach (int hh in heads)
                {
                    var pq = PooledMean(q, s, f, b, hh, s.QueryHeads, s.QueryLength, block, r);
                    for (int e = 0; e < s.HeadDim; e++) sum += pq[e] * pk[e];
                }
                result[r, c] = sum / heads.Length * sc;
            }
        return result;
    }

    /// <summary>Whether some (query, key) pair of the block is causally allowed, by enumerating the pairs.</summary>
    public static bool CausallyPossible(AttentionShape s, int block, int r, int c)
    {
        for (int i = r * block; i < Math.Min((r + 1) * block, s.QueryLength); i++)
            for (int j = c * block; j < Math.Min((c + 1) * block, s.KeyLength); j++)
                if (j <= i + s.KeyLength - s.QueryLength) return true;
        return false;
    }

    /// <summary>The keep-set of query block r from the token-level definitions (before the causal filter).</summary>
    public static HashSet<int> KeepSet(AttentionShape s, int block, int r, int first, bool diagonal, int window)
    {
        int kb = s.KeyBlocks(block), off = s.KeyLength - s.QueryLength;
        var keep = new HashSet<int>();
        for (int c = 0; c < Math.Min(first, kb); c++) keep.Add(c);
        if (diagonal || window > 0)
        {
            var diag = new HashSet<int>();
            for (int i = r * block; i < Math.Min((r + 1) * block, s.QueryLength); i++)
                diag.Add(Math.Clamp(i + off, 0, s.KeyLength - 1) / block);
            for (int c = 0; c < kb; c++)
                if (diag.Any(dc => Math.Abs(dc - c) <= window)) keep.Add(c);
        }
        return keep;
    }

    /// <summary>Candidates (causally possible blocks or all) ordered by score descending, index ascending.</summary>
    public static List<int> Ranked(double[,] scores, AttentionShape s, int block, int r, bool causal) =>
        Enumerable.Range(0, s.KeyBlocks(block))
            .Where(c => !causal || CausallyPossible(s, block, r, c))
            .OrderByDescending(c => scores[r, c]).ThenBy(c => c).ToList();
}
