using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SparseNative.Dispatch;

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
    /// <param name="output">The merged output; may be exactly the same memory as <paramref name="outputA"/> or <paramref name="outputB"/>
    /// (any other overlap with an input, or with <paramref name="logSumExp"/>, is an error).</param>
    /// <param name="logSumExp">The merged log-sum-exp; may be exactly the same memory as <paramref name="logSumExpA"/> or
    /// <paramref name="logSumExpB"/> (any other overlap is an error).</param>
    /// <param name="shape">The sizes (only Batch, QueryHeads, QueryLength and HeadDim matter).</param>
    /// <param name="format">Memory layout of the outputs.</param>
    /// <exception cref="ArgumentException">A wrong length, an undefined <paramref name="format"/>, a partial overlap, a NaN or +∞
    /// log-sum-exp or a NaN/±∞ in a partial output (the rules of <c>sn_merge_states</c>); all found before anything is written.</exception>
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

        if (!Enum.IsDefined(format))
            throw new ArgumentOutOfRangeException(nameof(format), format, $"Format {(int)format} is not a TensorFormat.");
        // The rules of sn_merge_states, all checked before the first write, so that an in-place caller keeps its input.
        Alias(output, nameof(output), outputA, nameof(outputA), exactOk: true);
        Alias(output, nameof(output), outputB, nameof(outputB), exactOk: true);
        Alias(output, nameof(output), logSumExpA, nameof(logSumExpA), exactOk: false);
        Alias(output, nameof(output), logSumExpB, nameof(logSumExpB), exactOk: false);
        Alias(output, nameof(output), logSumExp, nameof(logSumExp), exactOk: false);
        Alias(logSumExp, nameof(logSumExp), logSumExpA, nameof(logSumExpA), exactOk: true);
        Alias(logSumExp, nameof(logSumExp), logSumExpB, nameof(logSumExpB), exactOk: true);
        Alias(logSumExp, nameof(logSumExp), outputA, nameof(outputA), exactOk: false);
        Alias(logSumExp, nameof(logSumExp), outputB, nameof(outputB), exactOk: false);
        MergeInput(outputA, nameof(outputA), isLogSumExp: false);
        MergeInput(logSumExpA, nameof(logSumExpA), isLogSumExp: true);
        MergeInput(outputB, nameof(outputB), isLogSumExp: false);
        MergeInput(logSumExpB, nameof(logSumExpB), isLogSumExp: true);

        int d = shape.HeadDim, heads = shape.QueryHeads, len = shape.QueryLength;
        var rows = new TensorRows(format, heads, len, d);
        for (int b = 0; b < shape.Batch; b++)
        for (int h = 0; h < heads; h++)
        for (int i = 0; i < len; i++)
        {
            int r = (b * heads + h) * len + i;
            int o = (int)rows.Row(b, h, i);
            float la = logSumExpA[r], lb = logSumExpB[r];
            float m = MathF.Max(la, lb);
            if (float.IsNegativeInfinity(m))
            {
                output.Slice(o, d).Clear();
                logSumExp[r] = float.NegativeInfinity;
                continue;
            }
            float wa = MathF.Exp(la - m), wb = MathF.Exp(lb - m), sum = wa + wb;
            float ca = wa / sum, cb = wb / sum;
            // Element by element, reading both inputs before writing, so the output may alias either input exactly.
            for (int c = 0; c < d; c++) output[o + c] = ca * outputA[o + c] + cb * outputB[o + c];
            logSumExp[r] = m + MathF.Log(sum);
        }
    }

    /// <summary>An output may be exactly an input (same start; the lengths are already equal) where allowed; no other overlap.</summary>
    private static void Alias(ReadOnlySpan<float> output, string outputName, ReadOnlySpan<float> input, string inputName, bool exactOk)
    {
        if (exactOk && output.Length == input.Length &&
            Unsafe.AreSame(ref MemoryMarshal.GetReference(output), ref MemoryMarshal.GetReference(input))) return;
        if (output.Overlaps(input))
            throw new ArgumentException(
                $"{outputName} overlaps {inputName}{(exactOk ? " (only the very same memory is allowed)" : "")}.", outputName);
    }

    /// <summary>A partial output must be finite; a log-sum-exp finite or −∞ (the row saw no key).</summary>
    private static void MergeInput(ReadOnlySpan<float> x, string name, bool isLogSumExp)
    {
        for (int i = 0; i < x.Length; i++)
        {
            float value = x[i];
            if (isLogSumExp ? float.IsNaN(value) || float.IsPositiveInfinity(value) : !float.IsFinite(value))
                throw new ArgumentException(
                    $"{name}[{i}] = {value}: {(isLogSumExp ? "a log-sum-exp must be finite or −∞" : "non-finite input")}.", name);
        }
    }
}
