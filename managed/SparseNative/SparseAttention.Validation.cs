using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using SparseNative.Dispatch;
using SparseNative.Elements;

namespace SparseNative;

public static partial class SparseAttention
{
    /// <summary>
    /// The one validation of a call's sizes, layout and options, run once at every entry point (<see cref="Forward"/>,
    /// <see cref="SelectBackend"/>, <see cref="ForwardSplitKeys"/>, <see cref="Cuda.CudaAttention.Forward"/>); what it returns
    /// is trusted from then on. Tensor lengths are checked by the caller, which knows where the tensors live.
    /// </summary>
    internal static ProblemSettings ValidateSettings(AttentionShape shape, BlockLayout layout, AttentionOptions options,
        TensorRows? stridedKeys = null)
    {
        // K and V read through a tensor span's pointer may exceed the int.MaxValue elements a span can index.
        shape.Validate(nameof(shape), keysSpanIndexed: stridedKeys is null);
        ArgumentNullException.ThrowIfNull(layout);
        layout.ValidateFor(shape, nameof(layout));
        if (!Enum.IsDefined(options.Format))
            throw new ArgumentOutOfRangeException(nameof(options), options.Format, $"Format {(int)options.Format} is not a TensorFormat.");

        float scale = options.ResolveScale(shape.HeadDim);
        if (!float.IsFinite(scale))
            throw new ArgumentOutOfRangeException(nameof(options.Scale), scale, $"Scale must be finite, got {scale}.");

        var segQ = options.QuerySegmentIds;
        var segK = options.KeySegmentIds;
        if (segQ.IsEmpty != segK.IsEmpty)
            throw new ArgumentException("QuerySegmentIds and KeySegmentIds must be given together.",
                segQ.IsEmpty ? nameof(options.QuerySegmentIds) : nameof(options.KeySegmentIds));
        if (!segQ.IsEmpty)
        {
            Length(segQ.Length, (long)shape.Batch * shape.QueryLength, nameof(options.QuerySegmentIds), "Batch·QueryLength");
            Length(segK.Length, (long)shape.Batch * shape.KeyLength, nameof(options.KeySegmentIds), "Batch·KeyLength");
        }

        int threads = ResolveThreads(options.MaxThreads);
        if (options.KeyValueCache is { } cache) ValidateCache(cache, shape, layout.BlockSize);
        return new ProblemSettings(shape, layout, scale, options.Causal, options.Format, segQ, segK, threads, options.KeyValueCache,
            stridedKeys);
    }

    /// <summary><see cref="ValidateSettings"/>, then the host tensors: lengths, no overlap, and (unless turned off) finite values.</summary>
    internal static AttentionProblem CreateProblem(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        Span<float> o, Span<float> lse, AttentionShape shape, BlockLayout layout, AttentionOptions options) =>
        CreateProblem<float, float>(q, k, v, o, lse, shape, layout, options);

    /// <summary>
    /// <see cref="CreateProblem(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, Span{float}, AttentionShape, BlockLayout, AttentionOptions)"/>
    /// for tensors of float, <see cref="Half"/> or <see cref="BFloat16"/> elements (Q and O of one type, K and V of one type).
    /// </summary>
    internal static AttentionProblem CreateProblem<TQ, TKV>(ReadOnlySpan<TQ> q, ReadOnlySpan<TKV> k, ReadOnlySpan<TKV> v,
        Span<TQ> o, Span<float> lse, AttentionShape shape, BlockLayout layout, AttentionOptions options)
        where TQ : unmanaged
        where TKV : unmanaged
    {
        var types = new TensorTypes(ElementTypes.Of<TQ>("query"), ElementTypes.Of<TKV>("key"));
        var settings = ValidateSettings(shape, layout, options);

        if (settings.Cache is null) TensorLengths(shape, q.Length, k.Length, v.Length, o.Length, lse.IsEmpty ? null : lse.Length);
        else
        {
            if (types.KeyValue != ElementType.Float32)
                throw new ArgumentException(
                    $"key and value are {types.KeyValue}: a KeyValueCache (preallocated or paged) takes float32 K/V for now.", "key");
            QueryShaped(q.Length, shape, "query");
            string formula = settings.Cache.IsPaged ? "Pages·KeyValueHeads·BlockSize·HeadDim" : "Batch·KeyValueHeads·Capacity·HeadDim";
            Length(k.Length, settings.KeyElements, "key", formula);
            Length(v.Length, settings.KeyElements, "value", formula);
            QueryShaped(o.Length, shape, "output");
            if (!lse.IsEmpty) LogSumExpShaped(lse.Length, shape, "logSumExp");
        }

        ReadOnlySpan<byte> qb = MemoryMarshal.AsBytes(q), kb = MemoryMarshal.AsBytes(k), vb = MemoryMarshal.AsBytes(v);
        Span<byte> ob = MemoryMarshal.AsBytes(o), lseb = MemoryMarshal.AsBytes(lse);
        // An output that overlaps an input would be read after it is written: a silent wrong answer.
        if (ob.Overlaps(qb) || ob.Overlaps(kb) || ob.Overlaps(vb))
            throw new ArgumentException("output overlaps query, key or value; it must be a separate buffer.", "output");
        if (!lse.IsEmpty && (lseb.Overlaps(qb) || lseb.Overlaps(kb) || lseb.Overlaps(vb) || lseb.Overlaps(ob)))
            throw new ArgumentException("logSumExp overlaps another tensor; it must be a separate buffer.", "logSumExp");
        // The segment ids are read by every work item, after others wrote their outputs. (The layout's arrays belong to
        // the BlockLayout, which copies what it is built from, so no caller span can alias them.)
        SegmentsApart(ob, "output", settings);
        SegmentsApart(lseb, "logSumExp", settings);

        if (options.CheckFinite)
            InputRange(Finite(q, "query", shape.HeadDim), FiniteKeys(k, "key", settings), FiniteKeys(v, "value", settings),
                shape, settings.Scale);
        return new AttentionProblem(qb, kb, vb, ob, lse, settings, types);
    }

    private static void SegmentsApart(ReadOnlySpan<byte> output, string name, in ProblemSettings settings)
    {
        if (output.IsEmpty || settings.QuerySegmentIds.IsEmpty) return;
        if (output.Overlaps(MemoryMarshal.AsBytes(settings.QuerySegmentIds.Span)))
            throw new ArgumentException($"{name} overlaps QuerySegmentIds; it must be a separate buffer.", name);
        if (output.Overlaps(MemoryMarshal.AsBytes(settings.KeySegmentIds.Span)))
            throw new ArgumentException($"{name} overlaps KeySegmentIds; it must be a separate buffer.", name);
    }

    /// <summary>The element counts the shape implies, for host spans and device buffers alike (<paramref name="logSumExp"/>: null when absent).</summary>
    internal static void TensorLengths(AttentionShape shape, long query, long key, long value, long output, long? logSumExp)
    {
        QueryShaped(query, shape, "query");
        KeyShaped(key, shape, "key");
        KeyShaped(value, shape, "value");
        QueryShaped(output, shape, "output");
        if (logSumExp is { } lse) LogSumExpShaped(lse, shape, "logSumExp");
    }

    /// <summary>A tensor shaped like Q (queries, outputs): <c>Batch·QueryHeads·QueryLength·HeadDim</c> elements.</summary>
    internal static void QueryShaped(long elements, AttentionShape shape, string name) =>
        Length(elements, shape.QueryElements, name, "Batch·QueryHeads·QueryLength·HeadDim");

    /// <summary>A tensor shaped like K (keys, values): <c>Batch·KeyValueHeads·KeyLength·HeadDim</c> elements.</summary>
    internal static void KeyShaped(long elements, AttentionShape shape, string name) =>
        Length(elements, shape.KeyElements, name, "Batch·KeyValueHeads·KeyLength·HeadDim");

    /// <summary>A log-sum-exp tensor: <c>Batch·QueryHeads·QueryLength</c> elements.</summary>
    internal static void LogSumExpShaped(long elements, AttentionShape shape, string name) =>
        Length(elements, shape.LogSumExpElements, name, "Batch·QueryHeads·QueryLength");

    /// <summary>Throws the library's length error: the tensor's name, its length and the formula the shape implies.</summary>
    internal static void Length(long actual, long expected, string name, string formula)
    {
        if (actual != expected)
            throw new ArgumentException($"{name} has {actual} elements; the shape needs {formula} = {expected}.", name);
    }

    /// <summary>
    /// Throws unless every element is finite; returns the largest magnitude. One vectorised pass over the bit patterns with
    /// the sign cleared: finite values order like those integers and NaN/∞ (an all-ones exponent) lie above all of them, so
    /// an integer max finds both (a little dearer than a sum, half the cost of TensorPrimitives.MaxMagnitude, which must
    /// order NaN). The same holds for float16 and bfloat16 over 16-bit patterns. Only a tensor that holds a bad value is
    /// rescanned element by element for the message.
    /// </summary>
    private static float Finite<T>(ReadOnlySpan<T> x, string name, int headDim) where T : unmanaged
    {
        float top;
        if (typeof(T) == typeof(float))
        {
            int bits = LargestMagnitudeBits(MemoryMarshal.Cast<T, int>(x));
            top = BitConverter.Int32BitsToSingle(bits);
        }
        else
        {
            ushort bits = LargestMagnitudeBits16(MemoryMarshal.Cast<T, ushort>(x));
            top = typeof(T) == typeof(Half) ? (float)BitConverter.UInt16BitsToHalf(bits) : BFloat16.FromBits(bits);
        }
        if (float.IsFinite(top)) return top;
        for (int i = 0; i < x.Length; i++)
        {
            float xi = ToSingle(x[i]);
            if (!float.IsFinite(xi))
                throw new ArgumentException(
                    $"{name}[{i}] (token row {i / headDim}, feature {i % headDim}) is {xi}; inputs must be finite " +
                    "(set AttentionOptions.CheckFinite = false to skip this check).", name);
        }
        throw new InvalidOperationException("unreachable: the scan saw a non-finite value that the rescan did not");
    }

    private static float ToSingle<T>(T x) where T : unmanaged =>
        typeof(T) == typeof(float) ? (float)(object)x : typeof(T) == typeof(Half) ? (float)(Half)(object)x : (BFloat16)(object)x;

    private static ushort LargestMagnitudeBits16(ReadOnlySpan<ushort> bits)
    {
        var mask = new Vector<ushort>(0x7FFF);
        Vector<ushort> a0 = Vector<ushort>.Zero, a1 = a0;
        int w = Vector<ushort>.Count, i = 0;
        for (; i + 2 * w <= bits.Length; i += 2 * w)
        {
            a0 = Vector.Max(a0, new Vector<ushort>(bits.Slice(i)) & mask);
            a1 = Vector.Max(a1, new Vector<ushort>(bits.Slice(i + w)) & mask);
        }
        var a = Vector.Max(a0, a1);
        int top = 0;
        for (int lane = 0; lane < w; lane++) top = Math.Max(top, a[lane]);
        for (; i < bits.Length; i++) top = Math.Max(top, bits[i] & 0x7FFF);
        return (ushort)top;
    }

    private static int LargestMagnitudeBits(ReadOnlySpan<int> bits)
    {
        var mask = new Vector<int>(0x7FFFFFFF);
        Vector<int> a0 = Vector<int>.Zero, a1 = a0, a2 = a0, a3 = a0;
        int w = Vector<int>.Count, i = 0;
        for (; i + 4 * w <= bits.Length; i += 4 * w) // four accumulators: the max's latency, not its throughput, would bound one
        {
            a0 = Vector.Max(a0, new Vector<int>(bits.Slice(i)) & mask);
            a1 = Vector.Max(a1, new Vector<int>(bits.Slice(i + w)) & mask);
            a2 = Vector.Max(a2, new Vector<int>(bits.Slice(i + 2 * w)) & mask);
            a3 = Vector.Max(a3, new Vector<int>(bits.Slice(i + 3 * w)) & mask);
        }
        var a = Vector.Max(Vector.Max(a0, a1), Vector.Max(a2, a3));
        int top = 0;
        for (int lane = 0; lane < w; lane++) top = Math.Max(top, a[lane]);
        for (; i < bits.Length; i++) top = Math.Max(top, bits[i] & 0x7FFFFFFF);
        return top;
    }

    /// <summary>
    /// Finite inputs can still overflow float32 inside a kernel where the true answer is finite: a score q·k (scaled by
    /// scale·log2 e before or after the sum, whichever a backend does), or the unnormalised sum of up to KeyLength values
    /// weighted by at most 1. Both are bounded from the largest magnitudes (|q·k| ≤ HeadDim·max|q|·max|k|) and must stay
    /// below half of float.MaxValue, which leaves room for subtracting the running max. The bounds lie far beyond any
    /// trained model's activations (|q|, |k| of order 1e18 at HeadDim 128); the C library applies the same ones.
    /// </summary>
    private static void InputRange(double maxQuery, double maxKey, double maxValue, AttentionShape shape, float scale)
    {
        const double limit = float.MaxValue / 2.0;
        double factor = Math.Max(1.0, Math.Abs((double)scale) * Kernels.Exp2Polynomial.Log2E);
        double score = shape.HeadDim * maxQuery * maxKey * factor;
        if (score > limit || maxQuery * factor > limit)
            throw new ArgumentException(
                $"max|query| = {maxQuery:G4} and max|key| = {maxKey:G4} at HeadDim {shape.HeadDim} and scale {scale:G4}: scores " +
                $"can reach {score:G4} and overflow float32 (HeadDim·max|q|·max|k|·max(1, |scale|·log2 e) must not exceed " +
                $"{limit:G4}); scale the query or key down (or set AttentionOptions.CheckFinite = false to skip this check).",
                "query");
        if (shape.KeyLength * maxValue > limit)
            throw new ArgumentException(
                $"max|value| = {maxValue:G4} over KeyLength {shape.KeyLength}: the weighted sum of values can overflow float32 " +
                $"(KeyLength·max|v| must not exceed {limit:G4}); scale the value down (or set AttentionOptions.CheckFinite = " +
                "false to skip this check).", "value");
    }
}
