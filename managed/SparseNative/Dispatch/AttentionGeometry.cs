namespace SparseNative;

/// <summary>
/// Where the pieces of one attention call lie, computed once when the call is validated and read by every managed backend
/// (the fused kernels and the reference): where a head's token 0 starts and how far apart its tokens are in each tensor
/// (BHSD or BSHD, docs/SEMANTICS.md), the block counts, and the causal diagonal.
/// </summary>
internal readonly struct AttentionGeometry
{
    public readonly AttentionShape Shape;
    public readonly TensorFormat Format;
    public readonly int BlockSize, QueryBlocks, KeyBlocks;

    /// <summary>Elements between consecutive tokens of one head: in Q and O, and in K and V.</summary>
    public readonly long QueryRowStride, KeyRowStride;

    // Token (b, h, 0) of a tensor starts at b·BatchStride + h·HeadStride, in both formats.
    private readonly long _queryBatchStride, _queryHeadStride, _keyBatchStride, _keyHeadStride;

    /// <summary>Whether the token causal mask applies (from the options or the layout).</summary>
    public readonly bool Causal;

    /// <summary><c>KeyLength − QueryLength</c>: the causal rule is <c>j ≤ i + CausalOffset</c> (bottom-right alignment).</summary>
    public readonly int CausalOffset;

    public AttentionGeometry(AttentionShape shape, TensorFormat format, int blockSize, bool causal)
    {
        Shape = shape;
        Format = format;
        BlockSize = blockSize;
        QueryBlocks = shape.QueryBlocks(blockSize);
        KeyBlocks = shape.KeyBlocks(blockSize);
        Causal = causal;
        CausalOffset = shape.KeyLength - shape.QueryLength;
        long d = shape.HeadDim;
        if (format == TensorFormat.Bhsd)
        {
            // [B, H, L, d]: a head's tokens are contiguous rows.
            QueryRowStride = KeyRowStride = d;
            _queryHeadStride = shape.QueryLength * d;
            _keyHeadStride = shape.KeyLength * d;
        }
        else
        {
            // [B, L, H, d]: consecutive tokens of one head are a whole token (all heads) apart.
            QueryRowStride = shape.QueryHeads * d;
            KeyRowStride = shape.KeyValueHeads * d;
            _queryHeadStride = _keyHeadStride = d;
        }
        _queryBatchStride = (long)shape.QueryHeads * shape.QueryLength * d;
        _keyBatchStride = (long)shape.KeyValueHeads * shape.KeyLength * d;
    }

    /// <summary>Offset of token 0 of query head <paramref name="h"/> of batch row <paramref name="b"/> in Q and O.</summary>
    public long QueryHeadBase(int b, int h) => b * _queryBatchStride + h * _queryHeadStride;

    /// <summary>Offset of token 0 of key/value head <paramref name="kvHead"/> of batch row <paramref name="b"/> in K and V.</summary>
    public long KeyHeadBase(int b, int kvHead) => b * _keyBatchStride + kvHead * _keyHeadStride;

    /// <summary>Offset of query token <paramref name="i"/> of head <paramref name="h"/> in Q and O.</summary>
    public long QueryRow(int b, int h, int i) => QueryHeadBase(b, h) + i * QueryRowStride;

    /// <summary>Offset of key token <paramref name="j"/> of key/value head <paramref name="kvHead"/> in K and V.</summary>
    public long KeyRow(int b, int kvHead, int j) => KeyHeadBase(b, kvHead) + j * KeyRowStride;

    /// <summary>Offset of query token 0 of head <paramref name="h"/> in the log-sum-exp output <c>[B, Hq, Lq]</c>.</summary>
    public long LogSumExpBase(int b, int h) => ((long)b * Shape.QueryHeads + h) * Shape.QueryLength;

    /// <summary>Whether the causal rule (when it applies) lets query <paramref name="i"/> see key <paramref name="j"/>.</summary>
    public bool CausallyVisible(int i, int j) => !Causal || j <= (long)i + CausalOffset;
}
