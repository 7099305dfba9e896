using SparseNative.Dispatch;
namespace SparseNative.Reference;

/// <summary>
/// The oracle of the backward pass: the gradient of docs/SEMANTICS.md's forward, in float64, one query row at a time.
/// It recomputes each row's softmax in float64 from Q and K (the forward's float32 output and log-sum-exp are not used),
/// so it is the exact gradient up to the final rounding to float32. Work is split by (batch, key/value head): one task owns
/// that head's dK and dV and walks its whole query group in a fixed order, so the result does not depend on threads.
/// </summary>
internal static unsafe class ReferenceBackward
{
    public static void Run(in BackwardProblem p)
    {
        var f = p.Forward;
        fixed (float* q = f.Query, k = f.Key, v = f.Value, o = f.Output, lse = f.LogSumExp)
        fixed (float* dO = p.OutputGradient, dQ = p.QueryGradient, dK = p.KeyGradient, dV = p.ValueGradient)
        fixed (int* segQ = f.QuerySegments, segK = f.KeySegments)
        {
            var job = new Group(f, q, k, v, o, lse, segQ, segK, dO, dQ, dK, dV);
            var s = f.Shape;
            Parallel.For(0, s.Batch * s.KeyValueHeads, new ParallelOptions { MaxDegreeOfParallelism = f.Threads }, job.Run);
        }
    }

    private sealed class Group(in AttentionProblem f, float* q, float* k, float* v, float* o, float* lse, int* segQ, int* segK,
        float* dO, float* dQ, float* dK, float* dV) : PinnedProblem(f, q, k, v, o, lse, segQ, segK)
    {
        private readonly float _scale = f.Scale;

        public void Run(int flat)
        {
            var s = Geometry.Shape;
            int d = s.HeadDim, b = flat / s.KeyValueHeads, kvh = flat % s.KeyValueHeads;
            var dk = new double[(long)s.KeyLength * d];
            var dv = new double[(long)s.KeyLength * d];
            var keys = new List<int>();
            var p = new double[s.KeyLength];
            var dq = new double[d];
            for (int h = kvh * s.GroupSize; h < (kvh + 1) * s.GroupSize; h++)
                for (int i = 0; i < s.QueryLength; i++)
                {
                    long row = Geometry.Queries.Row(b, h, i);
                    float* qi = Q + row, doi = dO + row, dqi = dQ + row;
                    AllowedKeys(b, h, i, keys);
                    Array.Clear(dq);
                    if (keys.Count > 0)
                    {
                        // Softmax of the row: p_j = exp(s_j − max) / Σ exp(s_k − max).
                        double max = double.NegativeInfinity, sum = 0;
                        foreach (int j in keys) max = Math.Max(max, p[j] = Score(qi, K + Geometry.Keys.Row(b, kvh, j), d));
                        foreach (int j in keys) sum += p[j] = Math.Exp(p[j] - max);
                        foreach (int j in keys) p[j] /= sum;

                        // D = Σ_c dO_c · o_c with o = Σ_j p_j v_j.
                        double delta = 0;
                        for (int c = 0; c < d; c++)
                        {
                            double oc = 0;
                            foreach (int j in keys) oc += p[j] * V[Geometry.Keys.Row(b, kvh, j) + c];
                            delta += doi[c] * oc;
                        }
                        foreach (int j in keys)
                        {
                            long keyRow = Geometry.Keys.Row(b, kvh, j);
                            float* kj = K + keyRow, vj = V + keyRow;
                            double dp = 0;
                            for (int c = 0; c < d; c++) dp += (double)doi[c] * vj[c];
                            double ds = p[j] * (dp - delta); // dL/ds_ij
                            for (int c = 0; c < d; c++)
                            {
                                dq[c] += ds * kj[c];
                                dk[(long)j * d + c] += ds * qi[c];
                                dv[(long)j * d + c] += p[j] * doi[c];
                            }
                        }
                    }
                    // s = scale · q·k, so dq and dk carry one factor of the scale.
                    for (int c = 0; c < d; c++) dqi[c] = (float)(_scale * dq[c]);
                }
            for (int j = 0; j < s.KeyLength; j++)
            {
                long keyRow = Geometry.Keys.Row(b, kvh, j);
                float* dkj = dK + keyRow, dvj = dV + keyRow;
                for (int c = 0; c < d; c++)
                {
                    dkj[c] = (float)(_scale * dk[(long)j * d + c]);
                    dvj[c] = (float)dv[(long)j * d + c];
                }
            }
        }

        /// <summary>The keys query <paramref name="i"/> of head <paramref name="h"/> attends to (docs/SEMANTICS.md rules 1–4).</summary>
        private void AllowedKeys(int b, int h, int i, List<int> keys)
        {
            var s = Geometry.Shape;
            int bs = Geometry.BlockSize;
            keys.Clear();
            foreach (int kb in Layout.Row(Layout.ListForHead(h), i / bs))
                for (int j = kb * bs; j < Math.Min((kb + 1) * bs, s.KeyLength); j++)
                    if (TokenAllowed(b, i, j)) keys.Add(j);
        }

        private double Score(float* qi, float* kj, int d) => ReferenceBackend.Score(qi, kj, d, _scale);
    }
}
