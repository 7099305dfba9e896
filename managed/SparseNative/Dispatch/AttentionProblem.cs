using System.Runtime.InteropServices;
using SparseNative.Elements;

namespace SparseNative.Dispatch;

/// <summary>
/// One validated attention call on host memory, as every backend receives it: the tensors and the
/// <see cref="ProblemSettings"/> that <see cref="SparseAttention.ValidateSettings"/> checked, with the tensor lengths checked
/// by <see cref="SparseAttention.CreateProblem"/>. Backends trust it (the native libraries check again on their side of the ABI,
/// which is their own contract with C callers).
/// </summary>
internal readonly unsafe ref struct AttentionProblem
{
    /// <summary>The tensors' bytes: elements of <see cref="Types"/> (Q and O of one type, K and V of another).</summary>
    public readonly ReadOnlySpan<byte> QueryData, KeyData, ValueData;
    public readonly Span<byte> OutputData;
    /// <summary><c>[B, Hq, Lq]</c> float32 whatever the tensors' type, or empty when the caller does not want it.</summary>
    public readonly Span<float> LogSumExp;
    public readonly ProblemSettings Settings;
    public readonly TensorTypes Types;

    /// <summary>K and V of a tensor-span call (<see cref="ProblemSettings.StridedKeys"/>), pinned by the caller for the call and
    /// indexed by long offsets (they may exceed int.MaxValue elements); null when <see cref="Key"/> and <see cref="Value"/> hold them.</summary>
    public readonly float* KeyPointer, ValuePointer;

    public AttentionProblem(ReadOnlySpan<float> query, ReadOnlySpan<float> key, ReadOnlySpan<float> value,
        Span<float> output, Span<float> logSumExp, scoped in ProblemSettings settings)
        : this(MemoryMarshal.AsBytes(query), MemoryMarshal.AsBytes(key), MemoryMarshal.AsBytes(value), MemoryMarshal.AsBytes(output),
            logSumExp, settings, TensorTypes.AllFloat32)
    {
    }

    public AttentionProblem(ReadOnlySpan<byte> query, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value,
        Span<byte> output, Span<float> logSumExp, scoped in ProblemSettings settings, TensorTypes types)
    {
        QueryData = query; KeyData = key; ValueData = value; OutputData = output; LogSumExp = logSumExp;
        Settings = settings;
        Types = types;
    }

    /// <summary>The tensors as float32: empty for a tensor of another type (only a backend that <see cref="AttentionBackend.SupportsTypes"/> them reads the bytes).</summary>
    public ReadOnlySpan<float> Query => Types.QueryOutput == ElementType.Float32 ? MemoryMarshal.Cast<byte, float>(QueryData) : default;
    public ReadOnlySpan<float> Key => Types.KeyValue == ElementType.Float32 ? MemoryMarshal.Cast<byte, float>(KeyData) : default;
    public ReadOnlySpan<float> Value => Types.KeyValue == ElementType.Float32 ? MemoryMarshal.Cast<byte, float>(ValueData) : default;
    public Span<float> Output => Types.QueryOutput == ElementType.Float32 ? MemoryMarshal.Cast<byte, float>(OutputData) : default;

    /// <summary>A tensor-span call (float32): K and V as pinned pointers, Q and O as spans.</summary>
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
