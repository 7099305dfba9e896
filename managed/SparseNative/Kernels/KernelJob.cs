using SparseNative.Dispatch;
namespace SparseNative.Kernels;

/// <summary>
/// One forward call as the kernel's worker threads see it: raw pointers (pinned by the caller for the duration of the
/// call) and the call's geometry. Work item <c>(b·Hq + h)·QueryBlocks + qb</c> is one query block of one head.
/// </summary>
internal sealed unsafe class KernelJob(in AttentionProblem p, void* q, void* k, void* v, void* o, float* lse, int* segQ, int* segK,
    int* blockTable = null, int* sequenceLengths = null)
    : PinnedProblem(p, q, k, v, o, lse, segQ, segK, blockTable, sequenceLengths)
{
    /// <summary>scale · log2 e: the kernel works in base 2.</summary>
    public readonly float ScaleLog2 = p.Scale * Exp2Polynomial.Log2E;

    /// <summary>Floats of scratch one worker needs: qT, Sᵀ, O accumulators, max/sum/alpha, and a padded K/V tail block.</summary>
    public long ScratchFloats => KernelScratchLayout.TotalFloats(Geometry.BlockSize, Geometry.Shape.HeadDim);
}
