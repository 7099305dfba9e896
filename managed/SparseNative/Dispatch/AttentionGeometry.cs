namespace SparseNative.Dispatch;

/// <summary>
/// Where the pieces of one attention call lie, computed once when the call is validated and read by every managed backend
/// (the fused kernels and the reference): the token rows of Q/O and of K/V (<see cref="TensorRows"/>), the block counts,
/// and the causal diagonal.
/// </summary>
internal readonly struct AttentionGeometry
{
    public readonly AttentionShape Shape;
    public readonly TensorFormat Format;
    public readonly int BlockSize, QueryBlocks, KeyBlocks;

    /// <summary>Rows of Q and O (query heads, query tokens) and of K and V (key/value heads, key tokens). For a
    /// <see cref="KeyValueCache"/> the K/V rows have the cache's token stride (its capacity), and for a paged one they are the rows
    /// of one page, indexed by page instead of batch row (<see cref="PinnedProblem.KeyRow"/>).</summary>
    public readonly TensorRows Queries, Keys;

    /// <summary>Whether the token causal mask applies (from the options or the layout).</summary>
    public readonly bool Causal;

    /// <summary><c>KeyLength − QueryLength</c>: the causal rule is <c>j ≤ i + CausalOffset</c> (bottom-right alignment).</summary>
    public readonly int CausalOffset;

    public AttentionGeometry(AttentionShape shape, TensorFormat format, int blockSize, bool causal, KeyValueCache? cache = null,
        TensorRows? keyRows = null)
    {
        Shape = shape;
        Format = format;
        BlockSize = blockSize;
        QueryBlocks = shape.QueryBlocks(blockSize);
        KeyBlocks = shape.KeyBlocks(blockSize);
        Queries = new TensorRows(format, shape.QueryHeads, shape.QueryLength, shape.HeadDim);
        int keyTokens = cache is null ? shape.KeyLength : cache.IsPaged ? blockSize : cache.Capacity;
        Keys = keyRows ?? new TensorRows(format, shape.KeyValueHeads, keyTokens, shape.HeadDim);
        Causal = causal;
        CausalOffset = shape.KeyLength - shape.QueryLength;
    }

    /// <summary>Offset of query token 0 of head <paramref name="h"/> in the log-sum-exp output <c>[B, Hq, Lq]</c>.</summary>
    public long LogSumExpBase(int b, int h) => ((long)b * Shape.QueryHeads + h) * Shape.QueryLength;

    /// <summary>Whether the causal rule (when it applies) lets query <paramref name="i"/> see key <paramref name="j"/>.</summary>
    public bool CausallyVisible(int i, int j) => !Causal || j <= (long)i + CausalOffset;
}
