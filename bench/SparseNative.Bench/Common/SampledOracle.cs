namespace SparseNative.Bench.Common;

/// <summary>
/// A float64 check of a handful of query rows, straight from docs/SEMANTICS.md (block in the layout, causal rule, sequence
/// tails). Checking every row of a 4096-token problem in float64 would cost longer than the benchmark; a spread of sampled
/// rows per head catches any systematic error and lets us judge ONNX Runtime's output too, when no fast backend exists.
/// </summary>
internal static class SampledOracle
{
    /// <summary>Largest |output − exact| over the sampled rows; output and inputs in BHSD.</summary>
    public static double MaxAbsError(BenchData data, float[] output, BlockLayout layout, bool causal, int rowsPerHead = 24)
    {
        var s = data.Shape;
        int d = s.HeadDim, bs = layout.BlockSize, offset = s.KeyLength - s.QueryLength;
        double scale = 1.0 / Math.Sqrt(d), worst = 0;
        var scores = new double[s.KeyLength];
        var rng = new Random(7);
        for (int b = 0; b < s.Batch; b++)
            for (int h = 0; h < s.QueryHeads; h++)
            {
                int kvh = h / s.GroupSize;
                for (int n = 0; n < rowsPerHead; n++)
                {
                    // Always include the first and last rows (edge blocks), then random ones.
                    int i = n == 0 ? 0 : n == 1 ? s.QueryLength - 1 : rng.Next(s.QueryLength);
                    long qo = (((long)b * s.QueryHeads + h) * s.QueryLength + i) * d;
                    double max = double.NegativeInfinity;
                    var row = layout.Row(layout.ListForHead(h), i / bs);
                    Array.Fill(scores, double.NegativeInfinity);
                    foreach (int c in row)
                        for (int j = c * bs; j < Math.Min((c + 1) * bs, s.KeyLength); j++)
                        {
                            if (causal && j > i + offset) continue;
                            long ko = (((long)b * s.KeyValueHeads + kvh) * s.KeyLength + j) * d;
                            double dot = 0;
                            for (int x = 0; x < d; x++) dot += (double)data.Query[qo + x] * data.Key[ko + x];
                            scores[j] = dot * scale;
                            max = Math.Max(max, scores[j]);
                        }
                    var acc = new double[d];
                    double sum = 0;
                    if (!double.IsNegativeInfinity(max))
                        for (int j = 0; j < s.KeyLength; j++)
                        {
                            if (double.IsNegativeInfinity(scores[j])) continue;
                            double p = Math.Exp(scores[j] - max);
                            sum += p;
                            long vo = (((long)b * s.KeyValueHeads + kvh) * s.KeyLength + j) * d;
                            for (int x = 0; x < d; x++) acc[x] += p * data.Value[vo + x];
                        }
                    for (int x = 0; x < d; x++)
                    {
                        double exact = sum > 0 ? acc[x] / sum : 0;
                        worst = Math.Max(worst, Math.Abs(output[qo + x] - exact));
                    }
                }
            }
        return worst;
    }

    /// <summary>Largest elementwise |a − b|.</summary>
    public static double MaxAbsDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double worst = 0;
        for (int i = 0; i < a.Length; i++) worst = Math.Max(worst, Math.Abs((double)a[i] - b[i]));
        return worst;
    }
}
