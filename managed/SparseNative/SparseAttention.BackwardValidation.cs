using System.Runtime.InteropServices;
using SparseNative.Dispatch;

namespace SparseNative;

public static partial class SparseAttention
{
    /// <summary>
    /// The forward's output and log-sum-exp are read-only inputs of the backward; <see cref="CreateProblem"/> checks them
    /// like the forward's outputs (lengths, no overlap with Q, K, V or each other). No backend writes them in a backward call.
    /// </summary>
    private static Span<float> AsForwardResult(ReadOnlySpan<float> x) =>
        MemoryMarshal.CreateSpan(ref MemoryMarshal.GetReference(x), x.Length);

    /// <summary>
    /// Adds the backward's tensors to a forward problem that <see cref="CreateProblem"/> has validated: the log-sum-exp is
    /// required, dO and the three gradients must have their shapes, no gradient may overlap any input or another gradient,
    /// and (with <see cref="AttentionOptions.CheckFinite"/>) O and dO must be finite and the log-sum-exp finite or −∞.
    /// </summary>
    private static BackwardProblem CreateBackwardProblem(in AttentionProblem forward, ReadOnlySpan<float> dO,
        Span<float> dQ, Span<float> dK, Span<float> dV, AttentionOptions options)
    {
        var shape = forward.Shape;
        // CreateProblem checked a log-sum-exp that is present; the backward cannot do without one.
        LogSumExpShaped(forward.LogSumExp.Length, shape, "logSumExp");
        QueryShaped(dO.Length, shape, "outputGradient");
        QueryShaped(dQ.Length, shape, "queryGradient");
        KeyShaped(dK.Length, shape, "keyGradient");
        KeyShaped(dV.Length, shape, "valueGradient");

        // A gradient that overlaps an input would be read after it is written, and two gradients that overlap would
        // overwrite each other: silent wrong answers either way.
        ReadOnlySpan<float> output = forward.Output, lse = forward.LogSumExp;
        NoOverlap(dQ, "queryGradient", forward.Query, forward.Key, forward.Value, output, lse, dO);
        NoOverlap(dK, "keyGradient", forward.Query, forward.Key, forward.Value, output, lse, dO);
        NoOverlap(dV, "valueGradient", forward.Query, forward.Key, forward.Value, output, lse, dO);
        if (dK.Overlaps(dQ)) throw new ArgumentException("keyGradient overlaps queryGradient; each gradient needs its own buffer.", "keyGradient");
        if (dV.Overlaps(dQ) || dV.Overlaps(dK))
            throw new ArgumentException("valueGradient overlaps queryGradient or keyGradient; each gradient needs its own buffer.", "valueGradient");

        if (options.CheckFinite)
        {
            Finite(output, "output", shape.HeadDim);
            Finite(dO, "outputGradient", shape.HeadDim);
            for (int r = 0; r < lse.Length; r++)
                if (float.IsNaN(lse[r]) || float.IsPositiveInfinity(lse[r]))
                    throw new ArgumentException(
                        $"logSumExp[{r}] is {lse[r]}; the forward writes a finite value or −∞ (a row with no allowed key).", "logSumExp");
        }
        return new BackwardProblem(forward, dO, dQ, dK, dV);
    }

    private static void NoOverlap(ReadOnlySpan<float> gradient, string name, ReadOnlySpan<float> query, ReadOnlySpan<float> key,
        ReadOnlySpan<float> value, ReadOnlySpan<float> output, ReadOnlySpan<float> logSumExp, ReadOnlySpan<float> outputGradient)
    {
        if (gradient.Overlaps(query) || gradient.Overlaps(key) || gradient.Overlaps(value) || gradient.Overlaps(output) ||
            gradient.Overlaps(logSumExp) || gradient.Overlaps(outputGradient))
            throw new ArgumentException(
                $"{name} overlaps query, key, value, output, logSumExp or outputGradient; it must be a separate buffer.", name);
    }
}
