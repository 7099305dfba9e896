namespace SparseNative.Tests;

/// <summary>
/// An implementation independent of the library's reference: expand the layout and the token rules into a dense
/// boolean mask, then a masked softmax over the full score matrix, in float64. Small problems only.
/// </summary>
internal static class NaiveDense
{
    public static (float[] Output, float[] Lse) Run(float[] q, float[] k, float[] v, AttentionShape s, BlockLayout layout,
        bool causal = false, float? scale = null, TensorFormat format = TensorFormat.Bhsd, int[]? segQ = null, int[]? segK = null)
    {
        double sc = scale ?? 1.0 / Math.Sqrt(s.HeadDim);
        var o = new float[s.QueryElements];
        var lse = new float[s.LogSumExpElements];
        var mask = layout.ToDense();
        int bs = layout.BlockSize, d = s.HeadDim;
        for (int b = 0; b < s.Batch; b++)
        for (int h = 0; h < s.QueryHeads; h++)
        {
            int kvh = h / (s.QueryHeads / s.KeyValueHeads);
            int list = h % layout.LayoutCount;
            for (int i = 0; i < s.QueryLength; i++)
            {
                var scores = new double[s.KeyLength];
                var allowed = new bool[s.KeyLength];
                for (int j = 0; j < s.KeyLength; j++)
                {
                    allowed[j] = Allowed(mask, s, bs, list, b, i, j, causal, segQ, segK);
                    double dot = 0;
                    for (int c = 0; c < d; c++)
                        dot += (double)q[Idx(format, s, b, h, s.QueryHeads, s.QueryLength, i) + c] * k[Idx(format, s, b, kvh, s.KeyValueHeads, s.KeyLength, j) + c];
                    scores[j] = dot * sc;
                }
                double max = double.NegativeInfinity;
                for (int j = 0; j < s.KeyLength; j++) if (allowed[j]) max = Math.Max(max, scores[j]);
                int oi = Idx(format, s, b, h, s.QueryHeads, s.QueryLength, i);
                int li = (b * s.QueryHeads + h) * s.QueryLength + i;
                if (double.IsNegativeInfinity(max)) { lse[li] = float.NegativeInfinity; continue; }
                double sum = 0;
                var acc = new double[d];
                for (int j = 0; j < s.KeyLength; j++)
                {
                    if (!allowed[j]) continue;
                    double p = Math.Exp(scores[j] - max);
                    sum += p;
                    int vj = Idx(format, s, b, kvh, s.KeyValueHeads, s.KeyLength, j);
                    for (int c = 0; c < d; c++) acc[c] += p * v[vj + c];
                }
                for (int c = 0; c < d; c++) o[oi + c] = (float)(acc[c] / sum);
                lse[li] = (float)(max + Math.Log(sum));
            }
        }
        return (o, lse);
    }

    /// <summary>docs/SEMANTICS.md's allowed(i, j) for batch b and layout list <paramref name="list"/>, from the dense block mask.</summary>
    public static bool Allowed(bool[,,] mask, AttentionShape s, int bs, int list, int b, int i, int j, bool causal, int[]? segQ, int[]? segK)
    {
        bool ok = mask[list, i / bs, j / bs];
        if (causal) ok &= j <= i + (s.KeyLength - s.QueryLength);
        if (segQ != null) ok &= segQ[b * s.QueryLength + i] == segK![b * s.KeyLength + j];
        return ok;
    }

    public static int Idx(TensorFormat f, AttentionShape s, int b, int h, int heads, int len, int t) => f == TensorFormat.Bhsd
        ? ((b * heads + h) * len + t) * s.HeadDim
        : ((b * len + t) * heads + h) * s.HeadDim;
}
