namespace SparseNative.Dispatch;

/// <summary>
/// Where the token rows of one tensor lie: <c>[B, H, L, d]</c> (BHSD) or <c>[B, L, H, d]</c> (BSHD), docs/SEMANTICS.md.
/// Token <c>t</c> of head <c>h</c> in batch row <c>b</c> starts at <c>b·BatchStride + h·HeadStride + t·RowStride</c> in both formats;
/// the one place that formula is written.
/// </summary>
internal readonly struct TensorRows
{
    public readonly long BatchStride, HeadStride;

    /// <summary>Elements between consecutive tokens of one head.</summary>
    public readonly long RowStride;

    public TensorRows(TensorFormat format, int heads, int length, int headDim)
    {
        long d = headDim;
        BatchStride = (long)heads * length * d;
        // BHSD: a head's tokens are contiguous rows; BSHD: consecutive tokens of one head are a whole token (all heads) apart.
        (HeadStride, RowStride) = format == TensorFormat.Bhsd ? (length * d, d) : (d, heads * d);
    }

    /// <summary>Rows at explicit strides (a strided view of a larger tensor, such as a cache read through a tensor span).</summary>
    public TensorRows(long batchStride, long headStride, long rowStride) =>
        (BatchStride, HeadStride, RowStride) = (batchStride, headStride, rowStride);

    /// <summary>Offset of token 0 of head <paramref name="h"/> in batch row <paramref name="b"/>.</summary>
    public long HeadBase(int b, int h) => b * BatchStride + h * HeadStride;

    /// <summary>Offset of token <paramref name="t"/> of head <paramref name="h"/> in batch row <paramref name="b"/>.</summary>
    public long Row(int b, int h, int t) => HeadBase(b, h) + t * RowStride;
}
