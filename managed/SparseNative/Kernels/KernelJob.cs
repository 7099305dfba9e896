namespace SparseNative.Kernels;

/// <summary>
/// One forward call as the kernel's worker threads see it: raw pointers (pinned by the caller for the duration of the
/// call), sizes, and the shared work queue. Work item <c>(b·Hq + h)·QueryBlocks + qb</c> is one query block of one head.
/// </summary>
internal sealed unsafe class KernelJob
{
    public float* Q, K, V, O, Lse;
    public int* SegQ, SegK;
    public AttentionShape Shape;
    public BlockLayout Layout = null!;
    public TensorFormat Format;
    /// <summary>scale · log2 e: the kernel works in base 2.</summary>
    public float ScaleLog2;
    public bool Causal;
    public int CausalOffset;
    public int BlockSize, QueryBlocks;

    /// <summary>Work items, most expensive first; workers take the next one with an atomic increment.</summary>
    public int[] Order = [];
    public int Count;
    public int Next;

    /// <summary>Offset of token 0 of head <paramref name="h"/> (long: it exceeds 2³¹ for long sequences).</summary>
    public long HeadBase(int b, int h, int heads, int length) => Format == TensorFormat.Bhsd
        ? ((long)b * heads + h) * length * Shape.HeadDim
        : ((long)b * length * heads + h) * Shape.HeadDim;

    /// <summary>Elements between consecutive tokens of one head.</summary>
    public long RowStride(int heads) => Format == TensorFormat.Bhsd ? Shape.HeadDim : (long)heads * Shape.HeadDim;

    /// <summary>Floats of scratch one worker needs: qT, Sᵀ, O accumulators, max/sum/alpha, and a padded K/V tail block.</summary>
    public long ScratchFloats => KernelScratchLayout.TotalFloats(BlockSize, Shape.HeadDim);
}
