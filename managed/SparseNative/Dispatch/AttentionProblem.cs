namespace SparseNative;

/// <summary>
/// One validated attention call, as every backend receives it. Built only by <see cref="SparseAttention.Forward"/>
/// after all checks, so backends may trust it (the native backends validate again on their side of the ABI).
/// </summary>
internal readonly ref struct AttentionProblem
{
    public readonly ReadOnlySpan<float> Query;
    public readonly ReadOnlySpan<float> Key;
    public readonly ReadOnlySpan<float> Value;
    public readonly Span<float> Output;
    /// <summary><c>[B, Hq, Lq]</c>, or empty when the caller does not want it.</summary>
    public readonly Span<float> LogSumExp;
    public readonly AttentionShape Shape;
    public readonly BlockLayout Layout;
    public readonly float Scale;
    public readonly bool Causal;
    public readonly TensorFormat Format;
    /// <summary><c>[B, Lq]</c> and <c>[B, Lk]</c>, or both empty.</summary>
    public readonly ReadOnlySpan<int> QuerySegments;
    public readonly ReadOnlySpan<int> KeySegments;
    /// <summary>Worker threads to use (≥ 1).</summary>
    public readonly int Threads;

    public AttentionProblem(ReadOnlySpan<float> query, ReadOnlySpan<float> key, ReadOnlySpan<float> value,
        Span<float> output, Span<float> logSumExp, AttentionShape shape, BlockLayout layout, float scale, bool causal,
        TensorFormat format, ReadOnlySpan<int> querySegments, ReadOnlySpan<int> keySegments, int threads)
    {
        Query = query; Key = key; Value = value; Output = output; LogSumExp = logSumExp;
        Shape = shape; Layout = layout; Scale = scale; Causal = causal; Format = format;
        QuerySegments = querySegments; KeySegments = keySegments; Threads = threads;
    }

    public bool HasLogSumExp => !LogSumExp.IsEmpty;
    public bool HasSegments => !QuerySegments.IsEmpty;

    /// <summary>Where token <c>(b, h, 0)</c> of a tensor with <paramref name="heads"/> heads and <paramref name="length"/> tokens starts.</summary>
    public long HeadBase(int b, int h, int heads, int length) => Format == TensorFormat.Bhsd
        ? ((long)b * heads + h) * length * Shape.HeadDim
        : ((long)b * length * heads + h) * Shape.HeadDim;

    /// <summary>Elements between consecutive tokens of one head.</summary>
    public int RowStride(int heads) => Format == TensorFormat.Bhsd ? Shape.HeadDim : heads * Shape.HeadDim;

    /// <summary>The offset added to a query index in the causal rule <c>j ≤ i + offset</c> (bottom-right alignment).</summary>
    public int CausalOffset => Shape.KeyLength - Shape.QueryLength;
}
