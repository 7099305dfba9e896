using SparseNative.Tests.Kernels;

namespace SparseNative.Tests;

/// <summary>
/// The backward pass by the textbook dense formulas, in float64, independent of the library: per (batch, query head) the
/// full masked probability matrix P, then dV = Pᵀ·dO, dP = dO·Vᵀ, D_i = Σ_j P_ij·dP_ij (the softmax Jacobian's form, not
/// the kernels' rowsum(dO ∘ O)), dS = P ∘ (dP − D), dQ = scale·dS·K, dK = scale·dSᵀ·Q, summing dK and dV over each query
/// group. Also a float64 forward over float64 inputs for finite differences. Small problems only.
/// </summary>
internal static class NaiveDenseBackward
{
    /// <summary>O = P·V in float64 (rows with no allowed key are 0).</summary>
    public static double[] Forward(double[] q, double[] k, double[] v, KernelCheck.Case c)
    {
        var s = c.Shape;
        var o = new double[s.QueryElements];
        int d = s.HeadDim;
        for (int b = 0; b < s.Batch; b++)
            for (int h = 0; h < s.QueryHeads; h++)
            {
                int kvh = h / s.GroupSize;
                var p = Probabilities(q, k, c, b, h);
                for (int i = 0; i < s.QueryLength; i++)
                {
                    int oi = NaiveDense.Idx(c.Format, s, b, h, s.QueryHeads, s.QueryLength, i);
                    for (int j = 0; j < s.KeyLength; j++)
                    {
                        if (p[i, j] == 0) continue;
                        int vj = NaiveDense.Idx(c.Format, s, b, kvh, s.KeyValueHeads, s.KeyLength, j);
                        for (int x = 0; x < d; x++) o[oi + x] += p[i, j] * v[vj + x];
                    }
                }
            }
        return o;
    }

    /// <summary>(dQ, dK, dV) in float64 for loss gradient dO.</summary>
    public static (double[] Dq, double[] Dk, double[] Dv) Backward(double[] q, double[] k, double[] v, double[] dO, KernelCheck.Case c)
    {
        var s = c.Shape;
        int d = s.HeadDim, lq = s.QueryLength, lk = s.KeyLength;
        double scale = c.Scale ?? 1.0 / Math.Sqrt(d);
        var dq = new double[s.QueryElements];
        var dk = new double[s.KeyElements];
        var dv = new double[s.KeyElements];
        for (int b = 0; b < s.Batch; b++)
            for (int h = 0; h < s.QueryHeads; h++)
            {
                int kvh = h / s.GroupSize;
                var p = Probabilities(q, k, c, b, h);
                int Qi(int i) => NaiveDense.Idx(c.Format, s, b, h, s.QueryHeads, lq, i);
                int Kj(int j) => NaiveDense.Idx(c.Format, s, b, kvh, s.KeyValueHeads, lk, j);
                var dp = new double[lq, lk];
                for (int i = 0; i < lq; i++)
                    for (int j = 0; j < lk; j++)
                        for (int x = 0; x < d; x++) dp[i, j] += dO[Qi(i) + x] * v[Kj(j) + x];
                for (int i = 0; i < lq; i++)
                {
                    double rowDelta = 0;
                    for (int j = 0; j < lk; j++) rowDelta += p[i, j] * dp[i, j];
                    for (int j = 0; j < lk; j++)
                    {
                        double ds = p[i, j] * (dp[i, j] - rowDelta);
                        for (int x = 0; x < d; x++)
                        {
                            dv[Kj(j) + x] += p[i, j] * dO[Qi(i) + x];
                            dq[Qi(i) + x] += scale * ds * k[Kj(j) + x];
                            dk[Kj(j) + x] += scale * ds * q[Qi(i) + x];
                        }
                    }
                }
            }
        return (dq, dk, dv);
    }

    /// <summary>The masked softmax matrix of one (batch, query head): <c>[Lq, Lk]</c>, all-zero rows where no key is allowed.</summary>
    public static double[,] Probabilities(double[] q, double[] k, KernelCheck.Case c, int b, int h)
    {
        var s = c.Shape;
        var mask = c.Layout.ToDense();
        int d = s.HeadDim, bs = c.Layout.BlockSize, kvh = h / s.GroupSize, list = h % c.Layout.LayoutCount;
        double scale = c.Scale ?? 1.0 / Math.Sqrt(d);
        var p = new double[s.QueryLength, s.KeyLength];
        for (int i = 0; i < s.QueryLength; i++)
        {
            int qi = NaiveDense.Idx(c.Format, s, b, h, s.QueryHeads, s.QueryLength, i);
            double max = double.NegativeInfinity;
            var score = new double[s.KeyLength];
            var allowed = new bool[s.KeyLength];
            for (int j = 0; j < s.KeyLength; j++)
            {
                allowed[j] = NaiveDense.Allowed(mask, s, bs, list, b, i, j, c.Causal, c.QuerySegments, c.KeySegments);
                if (!allowed[j]) continue;
                int kj = NaiveDense.Idx(c.Format, s, b, kvh, s.KeyValueHeads, s.KeyLength, j);
                double dot = 0;
                for (int x = 0; x < d; x++) dot += q[qi + x] * k[kj + x];
                score[j] = scale * dot;
                max = Math.Max(max, score[j]);
            }
            if (double.IsNegativeInfinity(max)) continue;
            double sum = 0;
            for (int j = 0; j < s.KeyLength; j++) if (allowed[j]) sum += p[i, j] = Math.Exp(score[j] - max);
            for (int j = 0; j < s.KeyLength; j++) p[i, j] /= sum;
        }
        return p;
    }

    public static double[] ToDouble(float[] x) => Array.ConvertAll(x, e => (double)e);

    /// <summary>‖a − b‖_F / ‖b‖_F (absolute ‖a − b‖_F when b is 0).</summary>
    public static double RelativeError(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected)
    {
        double num = 0, den = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            if (!float.IsFinite(actual[i])) return double.PositiveInfinity;
            double e = actual[i] - expected[i];
            num += e * e;
            den += expected[i] * expected[i];
        }
        return den == 0 ? Math.Sqrt(num) : Math.Sqrt(num / den);
    }
}
