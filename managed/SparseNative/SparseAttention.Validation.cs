using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using SparseNative.Dispatch;

namespace SparseNative;

public static partial class SparseAttention
{
    /// <summary>
    /// The one validation of a call's sizes, layout and options, run once at every entry point (<see cref="Forward"/>,
    /// <see cref="SelectBackend"/>, <see cref="ForwardSplitKeys"/>, <see cref="Cuda.CudaAttention.Forward"/>); what it returns
    /// is trusted from then on. Tensor lengths are checked by the caller, which knows where the tensors live.
    /// </summary>
    internal static ProblemSettings ValidateSettings(AttentionShape shape, BlockLayout layout, AttentionOptions options)
    {
        shape.Validate(nameof(shape));
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
        return new ProblemSettings(shape, layout, scale, options.Causal, options.Format, segQ, segK, threads);
    }

    /// <summary><see cref="ValidateSettings"/>, then the host tensors: lengths, no overlap, and (unless turned off) finite values.</summary>
    internal static AttentionProblem CreateProblem(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        Span<float> o, Span<float> lse, AttentionShape shape, BlockLayout layout, AttentionOptions options)
    {
        var settings = ValidateSettings(shape, layout, options);

        TensorLengths(shape, q.Length, k.Length, v.Length, o.Length, lse.IsEmpty ? null : lse.Length);

        // An output that overlaps an input would be read after it is written: a silent wrong answer.
        if (o.Overlaps(q) || o.Overlaps(k) || o.Overlaps(v))
            throw new ArgumentException("output overlaps query, key or value; it must be a separate buffer.", "output");
        if (!lse.IsEmpty && (lse.Overlaps(q) || lse.Overlaps(k) || lse.Overlaps(v) || lse.Overlaps(o)))
            throw new ArgumentException("logSumExp overlaps another tensor; it must be a separate buffer.", "logSumExp");
        // The segment ids are read by every work item, after others wrote their outputs. (The layout's arrays belong to
        // the BlockLayout, which copies what it is built from, so no caller span can alias them.)
        SegmentsApart(MemoryMarshal.AsBytes(o), "output", settings);
        SegmentsApart(MemoryMarshal.AsBytes(lse), "logSumExp", settings);

        if (options.CheckFinite)
        {
            Finite(q, "query", shape.HeadDim);
            Finite(k, "key", shape.HeadDim);
            Finite(v, "value", shape.HeadDim);
        }
        return new AttentionProblem(q, k, v, o, lse, settings);
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

    private static void Finite(ReadOnlySpan<float> x, string name, int headDim)
    {
        // x·0 is 0 for finite x and NaN for NaN or ±∞, so one vectorised dot product finds any non-finite value.
        // A chunk whose finite values overflow the sum is rescanned element by element, so the check has no false alarm.
        const int chunk = 1 << 14;
        for (int start = 0; start < x.Length; start += chunk)
        {
            var part = x.Slice(start, Math.Min(chunk, x.Length - start));
            if (float.IsFinite(TensorPrimitives.Sum(part) * 0f)) continue;
            for (int i = 0; i < part.Length; i++)
                if (!float.IsFinite(part[i]))
                {
                    long at = start + i;
                    throw new ArgumentException(
                        $"{name}[{at}] (token row {at / headDim}, feature {at % headDim}) is {part[i]}; inputs must be finite " +
                        "(set AttentionOptions.CheckFinite = false to skip this check).", name);
                }
        }
    }
}
