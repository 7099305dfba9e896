using SparseNative.Dispatch;
namespace SparseNative.Kernels.Backward;

/// <summary>
/// One backward call as the workers see it: the forward's tensors and geometry (<see cref="Forward"/>, read only), dO, the
/// three gradients, and the per-row statistics shared by the two passes.
/// Pointers are pinned by the caller for the duration of the call.
/// </summary>
internal sealed unsafe class BackwardJob(KernelJob forward, float scale, float* dO, float* dQ, float* dK, float* dV, float* rowStats)
{
    /// <summary>Q, K, V, O, the log-sum-exp, segment ids, geometry, layout and the token rules, as the forward kernel reads them.</summary>
    public readonly KernelJob Forward = forward;

    /// <summary>dO and dQ are shaped like Q (rows <see cref="AttentionGeometry.Queries"/>), dK and dV like K (<see cref="AttentionGeometry.Keys"/>).</summary>
    public readonly float* OutputGradient = dO, QueryGradient = dQ, KeyGradient = dK, ValueGradient = dV;
    public readonly float Scale = scale;

    /// <summary>
    /// <c>[B, Hq, Lq]</c> each, laid out like the log-sum-exp: the log-sum-exp in base 2 (+∞ for a row with no allowed key,
    /// so every P of the row is 0) and D = rowsum(dO ∘ O). Written by the query-block pass, read by the key-block pass.
    /// </summary>
    public readonly float* RowLse2 = rowStats, RowDelta = rowStats + forward.Geometry.Shape.LogSumExpElements;

    /// <summary>Floats of row statistics the job needs (<see cref="RowLse2"/> and <see cref="RowDelta"/>).</summary>
    public static long RowStatsFloats(AttentionShape shape) => 2 * shape.LogSumExpElements;

    /// <summary>Floats of scratch one worker needs (both passes use the same pieces).</summary>
    public long ScratchFloats => BackwardScratchLayout.TotalFloats(Forward.Geometry.BlockSize, Forward.Geometry.Shape.HeadDim);
}
