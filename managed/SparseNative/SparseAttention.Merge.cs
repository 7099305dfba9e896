namespace SparseNative;

public static partial class SparseAttention
{
    /// <summary>
    /// Combines two attention results over disjoint key sets of the same queries into the result over their union:
    /// <c>m = max(lseA, lseB)</c>, <c>o = (e^(lseA−m)·oA + e^(lseB−m)·oB) / (e^(lseA−m) + e^(lseB−m))</c>,
    /// <c>lse = m + log(e^(lseA−m) + e^(lseB−m))</c>. Rows where both sides are −∞ give 0 and −∞.
    /// This is how long key sequences are split across threads, devices or machines (flash-decoding).
    /// </summary>
    /// <param name="outputA">First partial output, shaped like Q in <paramref name="format"/>.</param>
    /// <param name="logSumExpA">Its log-sum-exp, <c>[Batch, QueryHeads, QueryLength]</c>.</param>
    /// <param name="outputB">Second partial output.</param>
    /// <param name="logSumExpB">Its log-sum-exp.</param>
    /// <param name="output">The merged output; may be the same memory as <paramref name="outputA"/> or <paramref name="outputB"/>.</param>
    /// <param name="logSumExp">The merged log-sum-exp; may alias an input log-sum-exp.</param>
    /// <param name="shape">The sizes (only Batch, QueryHeads, QueryLength and HeadDim matter).</param>
    /// <param name="format">Memory layout of the outputs.</param>
    public static void MergeStates(ReadOnlySpan<float> outputA, ReadOnlySpan<float> logSumExpA,
        ReadOnlySpan<float> outputB, ReadOnlySpan<float> logSumExpB, Span<float> output, Span<float> logSumExp,
        AttentionShape shape, TensorFormat format = TensorFormat.Bhsd)
    {
        shape.Validate(nameof(shape));
        QueryShaped(outputA.Length, shape, nameof(outputA));
        QueryShaped(outputB.Length, shape, nameof(outputB));
        QueryShaped(output.Length, shape, nameof(output));
        LogSumExpShaped(logSumExpA.Length, shape, nameof(logSumExpA));
        LogSumExpShaped(logSumExpB.Length, shape, nameof(logSumExpB));
        LogSumExpShaped(logSumExp.Length, shape, nameof(logSumExp));

        int d = shape.HeadDim, heads = shape.QueryHeads, len = shape.QueryLength;
        var rows = new TensorRows(format, heads, len, d);
        for (int b = 0; b < shape.Batch; b++)
        for (int h = 0; h < heads; h++)
        for (int i = 0; i < len; i++)
        {
            int r = (b * heads + h) * len + i;
            int o = (int)rows.Row(b, h, i);
            float la = logSumExpA[r], lb = logSumExpB[r];
            if (float.IsNaN(la) || float.IsNaN(lb) || float.IsPositiveInfinity(la) || float.IsPositiveInfinity(lb))
                throw new ArgumentException($"log-sum-exp at row {r} is {la} / {lb}; it must be finite or −∞.",
                    float.IsNaN(la) || float.IsPositiveInfinity(la) ? nameof(logSumExpA) : nameof(logSumExpB));
            float m = MathF.Max(la, lb);
            if (float.IsNegativeInfinity(m))
            {
                output.Slice(o, d).Clear();
                logSumExp[r] = float.NegativeInfinity;
                continue;
            }
            float wa = MathF.Exp(la - m), wb = MathF.Exp(lb - m), sum = wa + wb;
            float ca = wa / sum, cb = wb / sum;
            // Element by element, reading both inputs before writing, so the output may alias either input.
            for (int c = 0; c < d; c++) output[o + c] = ca * outputA[o + c] + cb * outputB[o + c];
            logSumExp[r] = m + MathF.Log(sum);
        }
    }
}
