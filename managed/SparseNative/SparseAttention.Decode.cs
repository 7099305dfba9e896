using SparseNative.Decode;
using SparseNative.Dispatch;
namespace SparseNative;

public static partial class SparseAttention
{
    /// <summary>
    /// Flash-decoding: the same result as <see cref="Forward"/>, computed by splitting each query block's active key blocks
    /// into <paramref name="splits"/> contiguous chunks, running the chunks in parallel (each chunk is one single-threaded
    /// <see cref="Forward"/> over a sub-layout, giving a partial output and log-sum-exp) and combining the partials with
    /// <see cref="MergeStates"/>. This is how a short query (decoding, QueryLength 1–16) uses every core against a long key/value
    /// cache, where <see cref="Forward"/> would have too few query rows to share out.
    /// </summary>
    /// <remarks>
    /// On the managed backends <c>Forward</c> itself already splits the keys of a call with at most 16 query rows per head (its
    /// decode kernel, in fixed chunks, reading each K/V block once per GQA group); this method serves the other backends and
    /// callers who choose the split count.
    /// Results equal <see cref="Forward"/> up to float32 rounding (the summation order differs); for a fixed split count they are
    /// bitwise reproducible, but with <paramref name="splits"/> = 0 the count follows <see cref="AttentionOptions.MaxThreads"/>,
    /// so pass an explicit count when bitwise reproducibility across thread counts matters. Extra memory: one output and one
    /// log-sum-exp per chunk (small for decoding; for long query sequences prefer <see cref="Forward"/>). The call is validated
    /// and its inputs checked for NaN/∞ (unless <see cref="AttentionOptions.CheckFinite"/> is off) once, not once per chunk;
    /// every chunk keeps the call's causal mask (from the options or a causal layout).
    /// </remarks>
    /// <param name="query">Q, <c>[Batch, QueryHeads, QueryLength, HeadDim]</c> (or BSHD).</param>
    /// <param name="key">K, <c>[Batch, KeyValueHeads, KeyLength, HeadDim]</c>.</param>
    /// <param name="value">V, same shape as K.</param>
    /// <param name="output">O, same shape as Q; must not overlap the inputs.</param>
    /// <param name="shape">The sizes.</param>
    /// <param name="layout">Which key blocks each query block attends to.</param>
    /// <param name="options">As for <see cref="Forward"/>; <see cref="AttentionOptions.MaxThreads"/> bounds the chunks run at once.</param>
    /// <param name="logSumExp">Optional <c>[Batch, QueryHeads, QueryLength]</c> output, as for <see cref="Forward"/>.</param>
    /// <param name="splits">Chunks per row (≥ 0); 0 chooses <c>min(threads, longest row / 4)</c>, at least 1. More chunks than
    /// the longest row has blocks are not made (a chunk would be empty).</param>
    /// <returns>The backend that computed the chunks.</returns>
    /// <exception cref="ArgumentException">As for <see cref="Forward"/>, or <paramref name="splits"/> is negative.</exception>
    public static Backend ForwardSplitKeys(ReadOnlySpan<float> query, ReadOnlySpan<float> key, ReadOnlySpan<float> value,
        Span<float> output, AttentionShape shape, BlockLayout layout, AttentionOptions? options = null,
        Span<float> logSumExp = default, int splits = 0)
    {
        options ??= AttentionOptions.Default;
        ArgumentOutOfRangeException.ThrowIfNegative(splits);
        // Validate (and scan for NaN/∞) once; the chunks run on the validated settings, which at 1M keys saves more than a chunk costs.
        var problem = CreateProblem(query, key, value, output, logSumExp, shape, layout, options);
        int threads = problem.Threads;
        int longest = KeySplit.LongestRow(layout);
        int chunks = splits > 0 ? splits : Math.Clamp(longest / MinBlocksPerChunk, 1, threads);
        chunks = Math.Clamp(chunks, 1, Math.Max(1, longest));
        if (chunks == 1) return Run(problem, options.Backend);

        var settings = problem.Settings;
        var requested = options.Backend;
        // A backend that cannot run this throws here, before any work starts.
        BackendRegistry.Select(requested, new AttentionProblem(default, default, default, default, default, settings.ForPart(layout, 1)));
        var partOut = new float[chunks][];
        var partLse = new float[chunks][];
        var kinds = new Backend[chunks];
        unsafe
        {
            fixed (float* q = query, k = key, v = value)
            {
                nint qp = (nint)q, kp = (nint)k, vp = (nint)v;
                int ql = query.Length, kl = key.Length;
                ParallelWork.For(chunks, threads, s =>
                {
                    partOut[s] = new float[shape.QueryElements];
                    partLse[s] = new float[shape.LogSumExpElements];
                    var part = new AttentionProblem(new ReadOnlySpan<float>((float*)qp, ql), new ReadOnlySpan<float>((float*)kp, kl),
                        new ReadOnlySpan<float>((float*)vp, kl), partOut[s], partLse[s], settings.ForPart(KeySplit.Chunk(layout, s, chunks), 1));
                    kinds[s] = Run(part, requested);
                });
            }
        }

        // Fold the chunks in index order into chunk 0, so the result depends only on the chunk count. Unchecked: the chunks
        // are this call's own arrays, and with CheckFinite off a non-finite input makes non-finite partials, as in Forward.
        for (int s = 1; s < chunks; s++)
            MergeRows(partOut[0], partLse[0], partOut[s], partLse[s], partOut[0], partLse[0], shape, options.Format);
        partOut[0].CopyTo(output);
        if (!logSumExp.IsEmpty) partLse[0].CopyTo(logSumExp);
        return kinds[0];
    }

    /// <summary>Below this many key blocks per chunk, the merge and the per-chunk overhead outweigh the parallelism.</summary>
    private const int MinBlocksPerChunk = 4;
}
