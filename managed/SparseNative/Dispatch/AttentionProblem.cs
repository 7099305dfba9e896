namespace SparseNative.Dispatch;

/// <summary>
/// One validated attention call on host memory, as every backend receives it: the tensors and the
/// <see cref="ProblemSettings"/> that <see cref="SparseAttention.ValidateSettings"/> checked, with the tensor lengths checked
/// by <see cref="SparseAttention.CreateProblem"/>. Backends trust it (the native libraries check again on their side of the ABI,
/// which is their own contract with C callers).
/// </summary>
internal readonly unsafe ref struct AttentionProblem
{
    public readonly ReadOnlySpan<float> Query;
    public readonly ReadOnlySpan<float> Key;
    public readonly ReadOnlySpan<float> Value;
    public readonly Span<float> Output;
    /// <summary><c>[B, Hq, Lq]</c>, or empty when the caller does not want it.</summary>
    public readonly Span<float> LogSumExp;
    public readonly ProblemSettings Settings;

    /// <summary>K and V of a tensor-span call (<see cref="ProblemSettings.StridedKeys"/>), pinned by the caller for the call and
    /// indexed by long offsets (they may exceed int.MaxValue elements); null when <see cref="Key"/> and <see cref="Value"/> hold them.</summary>
    public readonly float* KeyPointer, ValuePointer;

    public AttentionProblem(ReadOnlySpan<float> query, ReadOnlySpan<float> key, ReadOnlySpan<float> value,
        Span<float> output, Span<float> logSumExp, scoped in ProblemSettings settings)
    {
        Query = query; Key = key; Value = value; Output = output; LogSumExp = logSumExp;
        Settings = settings;
    }

    /// <summary>A tensor-span call: K and V as pinned pointers, Q and O as spans.</summary>
    public static AttentionProblem Strided(ReadOnlySpan<float> query, float* key, float* value, Span<float> output,
        Span<float> logSumExp, in ProblemSettings settings) => new(query, key, value, output, logSumExp, settings);

    private AttentionProblem(ReadOnlySpan<float> query, float* key, float* value, Span<float> output, Span<float> logSumExp,
        in ProblemSettings settings) : this(query, ReadOnlySpan<float>.Empty, ReadOnlySpan<float>.Empty, output, logSumExp, settings)
    {
        KeyPointer = key; ValuePointer = value;
    }

    public AttentionShape Shape => Settings.Shape;
    public BlockLayout Layout => Settings.Layout;
    public float Scale => Settings.Scale;
    /// <summary>Whether the token causal mask applies (from the options or the layout).</summary>
    public bool Causal => Settings.Causal;
    public TensorFormat Format => Settings.Format;
    public int Threads => Settings.Threads;
    public AttentionGeometry Geometry => Settings.Geometry;

    /// <summary><c>[B, Lq]</c> and <c>[B, Lk]</c>, or both empty.</summary>
    public ReadOnlySpan<int> QuerySegments => Settings.QuerySegmentIds.Span;
    public ReadOnlySpan<int> KeySegments => Settings.KeySegmentIds.Span;

    /// <summary>A paged cache's block table and a cache's sequence lengths (empty when absent), for the backends to pin.</summary>
    public ReadOnlySpan<int> BlockTable => Settings.Cache is { } c ? c.BlockTable.Span : default;
    public ReadOnlySpan<int> SequenceLengths => Settings.Cache is { } c ? c.SequenceLengths.Span : default;

    public bool HasLogSumExp => !LogSumExp.IsEmpty;
    public bool HasSegments => Settings.HasSegments;
}
