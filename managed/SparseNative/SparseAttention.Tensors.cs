using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using SparseNative.Dispatch;

namespace SparseNative;

public static partial class SparseAttention
{
    /// <summary>
    /// <see cref="Forward(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, AttentionShape, BlockLayout, AttentionOptions?, Span{float})"/>
    /// on tensor spans, which carry their shapes and strides and are indexed by <c>nint</c>: the sizes come from the tensors,
    /// and K and V may be any strided view — a slice of a preallocated cache, a permuted tensor — of more than int.MaxValue
    /// elements (a 1M-token cache of 32 K/V heads at d 128 has 4.3·10⁹). Read on the managed backends.
    /// </summary>
    /// <remarks>A name of its own rather than a <c>Forward</c> overload, so that <c>Forward</c>'s other overloads keep
    /// unambiguous documentation references and call sites passing <c>default</c>.</remarks>
    /// <param name="query">Q, rank 4: <c>[Batch, QueryHeads, QueryLength, HeadDim]</c> (BSHD: <c>[Batch, QueryLength, QueryHeads,
    /// HeadDim]</c>), dense.</param>
    /// <param name="key">K, rank 4, <c>[Batch, KeyValueHeads, KeyLength, HeadDim]</c> (or BSHD), any non-negative strides with
    /// the last one 1 (each token row contiguous).</param>
    /// <param name="value">V, the lengths and strides of K.</param>
    /// <param name="output">O, the lengths of Q, dense; must not overlap the inputs.</param>
    /// <param name="layout">As for <c>Forward</c>.</param>
    /// <param name="options">As for <c>Forward</c>; <see cref="AttentionOptions.KeyValueCache"/> must be null (the strides say where K and V lie).</param>
    /// <param name="logSumExp">Optional <c>[Batch, QueryHeads, QueryLength]</c> output.</param>
    /// <returns>The backend that ran.</returns>
    /// <exception cref="ArgumentException">A rank, length or stride that does not fit, or anything <c>Forward</c> rejects.</exception>
    public static unsafe Backend ForwardTensors(in ReadOnlyTensorSpan<float> query, in ReadOnlyTensorSpan<float> key,
        in ReadOnlyTensorSpan<float> value, in TensorSpan<float> output, BlockLayout layout, AttentionOptions? options = null,
        Span<float> logSumExp = default)
    {
        options ??= AttentionOptions.Default;
        if (options.KeyValueCache is not null)
            throw new ArgumentException("options.KeyValueCache must be null for tensor spans: their strides say where K and V lie.", nameof(options));
        if (!Enum.IsDefined(options.Format))
            throw new ArgumentOutOfRangeException(nameof(options), options.Format, $"Format {(int)options.Format} is not a TensorFormat.");
        bool bhsd = options.Format == TensorFormat.Bhsd;
        var (b, hq, lq, d) = Dims(query.Lengths, bhsd, nameof(query));
        var (bk, hkv, lk, dk) = Dims(key.Lengths, bhsd, nameof(key));
        if (bk != b || dk != d)
            throw new ArgumentException($"key is [{string.Join(", ", key.Lengths.ToArray())}]; its batch and head dimension must be the query's ({b}, {d}).", nameof(key));
        Same(value.Lengths, key.Lengths, nameof(value), "lengths of key");
        Same(value.Strides, key.Strides, nameof(value), "strides of key");
        Same(output.Lengths, query.Lengths, nameof(output), "lengths of query");
        if (!query.IsDense) throw new ArgumentException("query must be dense (row-major in the format).", nameof(query));
        if (!output.IsDense) throw new ArgumentException("output must be dense (row-major in the format).", nameof(output));
        var st = key.Strides;
        if (st[3] != 1 || st[0] < 0 || st[1] < 0 || st[2] < 0)
            throw new ArgumentException($"key has strides [{string.Join(", ", st.ToArray())}]; they must be non-negative with the last 1.", nameof(key));
        var keyRows = bhsd ? new TensorRows(st[0], st[1], st[2]) : new TensorRows(st[0], st[2], st[1]);

        var shape = new AttentionShape(b, hq, hkv, lq, lk, d);
        var settings = ValidateSettings(shape, layout, options, keyRows);
        fixed (float* q = &query.GetPinnableReference(), k = &key.GetPinnableReference(), v = &value.GetPinnableReference())
        fixed (float* o = &output.GetPinnableReference())
        {
            var qs = new ReadOnlySpan<float>(q, checked((int)query.FlattenedLength));
            var os = new Span<float>(o, checked((int)output.FlattenedLength));
            if (!logSumExp.IsEmpty) LogSumExpShaped(logSumExp.Length, shape, "logSumExp");
            // The extent of K and V in memory: from the first element to one past the last one any index reaches.
            long extent = 1;
            for (int i = 0; i < 4; i++) extent += (key.Lengths[i] - 1) * st[i];
            bool Apart(void* a, long aLength, void* c, long cLength) =>
                (byte*)a + aLength * sizeof(float) <= (byte*)c || (byte*)c + cLength * sizeof(float) <= (byte*)a;
            if (os.Overlaps(qs) || !Apart(o, os.Length, k, extent) || !Apart(o, os.Length, v, extent))
                throw new ArgumentException("output overlaps query, key or value; it must be a separate buffer.", "output");
            fixed (float* lse = logSumExp)
                if (!logSumExp.IsEmpty && (logSumExp.Overlaps(qs) || logSumExp.Overlaps(os) || !Apart(lse, logSumExp.Length, k, extent) ||
                    !Apart(lse, logSumExp.Length, v, extent)))
                    throw new ArgumentException("logSumExp overlaps another tensor; it must be a separate buffer.", "logSumExp");
            SegmentsApart(System.Runtime.InteropServices.MemoryMarshal.AsBytes(os), "output", settings);
            SegmentsApart(System.Runtime.InteropServices.MemoryMarshal.AsBytes(logSumExp), "logSumExp", settings);
            if (options.CheckFinite)
                InputRange(Finite(qs, "query", d), FiniteRows(k, "key", settings), FiniteRows(v, "value", settings), shape, settings.Scale);
            return Run(AttentionProblem.Strided(qs, k, v, os, logSumExp, settings), options.Backend);
        }
    }

    /// <summary>(Batch, heads, length, HeadDim) of a rank-4 tensor in the format; each must fit an int.</summary>
    private static (int Batch, int Heads, int Length, int HeadDim) Dims(ReadOnlySpan<nint> lengths, bool bhsd, string name)
    {
        if (lengths.Length != 4)
            throw new ArgumentException($"{name} has rank {lengths.Length}; attention takes rank-4 tensors.", name);
        foreach (nint n in lengths)
            if (n > int.MaxValue)
                throw new ArgumentException($"{name} has a dimension of {n}; each dimension must fit an int.", name);
        return bhsd ? ((int)lengths[0], (int)lengths[1], (int)lengths[2], (int)lengths[3])
                    : ((int)lengths[0], (int)lengths[2], (int)lengths[1], (int)lengths[3]);
    }

    private static void Same(ReadOnlySpan<nint> actual, ReadOnlySpan<nint> expected, string name, string what)
    {
        if (!actual.SequenceEqual(expected))
            throw new ArgumentException($"{name} is [{string.Join(", ", actual.ToArray())}]; it must have the {what}, [{string.Join(", ", expected.ToArray())}].", name);
    }
}
