using SparseNative.Dispatch;
using SparseNative.Elements;
namespace SparseNative.Reference;

/// <summary>
/// The oracle: a direct transcription of docs/SEMANTICS.md with float64 accumulation. Each query row is handled
/// on its own — two passes over its allowed keys (max, then exp-sum and weighted sum of V) — so there is nothing
/// clever to get wrong. Rows are spread over threads only to keep tests quick; the arithmetic per row is fixed.
/// Float16 and bfloat16 inputs are read exactly (every such value is a double); a float16 or bfloat16 output is the
/// float64 result rounded once, to nearest even.
/// </summary>
internal sealed unsafe class ReferenceBackend : AttentionBackend
{
    public override Backend Kind => Backend.Reference;
    public override string? UnavailableReason => null;
    public override string Details => "float64 accumulation, scalar";
    public override string? BackwardUnavailableReason => null;
    public override void Backward(in BackwardProblem problem) => ReferenceBackward.Run(problem);

    /// <summary>Every combination of element types.</summary>
    public override bool SupportsTypes(TensorTypes types, out string? reason)
    {
        reason = null;
        return true;
    }

    public override void Forward(in AttentionProblem p)
    {
        switch (p.Types.QueryOutput)
        {
            case ElementType.Float32: Forward<FloatElement>(p); break;
            case ElementType.Float16: Forward<HalfElement>(p); break;
            default: Forward<BFloat16Element>(p); break;
        }
    }

    private static void Forward<TQ>(in AttentionProblem p) where TQ : struct, ITensorElement
    {
        switch (p.Types.KeyValue)
        {
            case ElementType.Float32: Forward<TQ, FloatElement>(p); break;
            case ElementType.Float16: Forward<TQ, HalfElement>(p); break;
            default: Forward<TQ, BFloat16Element>(p); break;
        }
    }

    private static void Forward<TQ, TKV>(in AttentionProblem p) where TQ : struct, ITensorElement where TKV : struct, ITensorElement
    {
        var s = p.Shape;
        fixed (byte* q = p.QueryData, k = p.KeyData, v = p.ValueData, o = p.OutputData)
        fixed (float* lse = p.LogSumExp)
        fixed (int* segQ = p.QuerySegments, segK = p.KeySegments, table = p.BlockTable, lengths = p.SequenceLengths)
        {
            var job = new Job<TQ, TKV>(p, q, k, v, o, lse, segQ, segK, table, lengths);
            int rows = s.Batch * s.QueryHeads * s.QueryLength;
            var po = new ParallelOptions { MaxDegreeOfParallelism = p.Threads };
            Parallel.For(0, rows, po, job.Row);
        }
    }

    private sealed class Job<TQ, TKV>(in AttentionProblem p, void* q, void* k, void* v, void* o, float* lse, int* segQ, int* segK,
        int* blockTable, int* sequenceLengths)
        : PinnedProblem(p, q, k, v, o, lse, segQ, segK, blockTable, sequenceLengths)
        where TQ : struct, ITensorElement
        where TKV : struct, ITensorElement
    {
        private readonly float _scale = p.Scale;

        public void Row(int flat)
        {
            var s = Geometry.Shape;
            int d = s.HeadDim, bs = Layout.BlockSize;
            int i = flat % s.QueryLength;
            int h = flat / s.QueryLength % s.QueryHeads;
            int b = flat / s.QueryLength / s.QueryHeads;
            int kvh = h / s.GroupSize;
            long qi = Geometry.Queries.Row(b, h, i);
            var keyBlocks = Layout.Row(Layout.ListForHead(h), i / bs);

            // Pass 1: the largest allowed score, so that exp never overflows.
            double max = double.NegativeInfinity;
            foreach (int kb in keyBlocks)
            {
                int end = Math.Min((kb + 1) * bs, KeyLength(b));
                for (int j = kb * bs; j < end; j++)
                    if (TokenAllowed(b, i, j)) max = Math.Max(max, Score(qi, KeyRow(b, kvh, j), d));
            }

            var acc = new double[d];
            double sum = 0;
            if (!double.IsNegativeInfinity(max))
            {
                // Pass 2: weights relative to the max, their sum, and the weighted sum of values.
                foreach (int kb in keyBlocks)
                {
                    int end = Math.Min((kb + 1) * bs, KeyLength(b));
                    for (int j = kb * bs; j < end; j++)
                    {
                        if (!TokenAllowed(b, i, j)) continue;
                        double w = Math.Exp(Score(qi, KeyRow(b, kvh, j), d) - max);
                        sum += w;
                        long vj = KeyRow(b, kvh, j);
                        for (int c = 0; c < d; c++) acc[c] += w * TKV.Read(V, vj + c);
                    }
                }
            }
            // A row with no allowed key: zeros and log-sum-exp −∞, never NaN.
            for (int c = 0; c < d; c++) TQ.Write(O, qi + c, sum > 0 ? acc[c] / sum : 0.0);
            if (Lse != null)
                Lse[Geometry.LogSumExpBase(b, h) + i] =
                    sum > 0 ? (float)(max + Math.Log(sum)) : float.NegativeInfinity;
        }


        private double Score(long qi, long kj, int d)
        {
            double dot = 0;
            for (int c = 0; c < d; c++) dot += (double)TQ.Read(Q, qi + c) * TKV.Read(K, kj + c);
            return dot * _scale;
        }
    }

    /// <summary>scale · q·k in float64: the score both reference passes (forward and backward) compute.</summary>
    internal static double Score(float* qi, float* kj, int d, float scale)
    {
        double dot = 0;
        for (int c = 0; c < d; c++) dot += (double)qi[c] * kj[c];
        return dot * scale;
    }
}
