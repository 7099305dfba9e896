using SparseNative.Dispatch;
namespace SparseNative;

public static partial class SparseAttention
{
    /// <summary>
    /// The backward pass of <see cref="Forward"/>: given dL/dO, writes dL/dQ, dL/dK and dL/dV for the same problem
    /// (same shape, layout and options, so the same allowed pairs, scale, causal rule, segment ids and format).
    /// With GQA a key/value head's gradient sums over its query group. See docs/SEMANTICS.md.
    /// </summary>
    /// <param name="query">Q, as given to the forward.</param>
    /// <param name="key">K, as given to the forward.</param>
    /// <param name="value">V, as given to the forward.</param>
    /// <param name="output">O, as the forward returned it for these inputs.</param>
    /// <param name="logSumExp">The forward's log-sum-exp, <c>[Batch, QueryHeads, QueryLength]</c> (required).</param>
    /// <param name="outputGradient">dL/dO, shaped like the output.</param>
    /// <param name="queryGradient">dL/dQ, shaped like Q; every element is written.</param>
    /// <param name="keyGradient">dL/dK, shaped like K; every element is written.</param>
    /// <param name="valueGradient">dL/dV, shaped like V; every element is written.</param>
    /// <param name="shape">The sizes.</param>
    /// <param name="layout">The forward's layout.</param>
    /// <param name="options">The forward's options; <c>null</c> for the defaults.</param>
    /// <returns>The backend that ran.</returns>
    /// <exception cref="ArgumentException">A length, overlap, shape, layout, scale, segment vector or input value is invalid; the message names it.</exception>
    /// <exception cref="BackendUnavailableException">The requested backend cannot run here, cannot run this problem or has no backward pass.</exception>
    public static Backend Backward(ReadOnlySpan<float> query, ReadOnlySpan<float> key, ReadOnlySpan<float> value,
        ReadOnlySpan<float> output, ReadOnlySpan<float> logSumExp, ReadOnlySpan<float> outputGradient,
        Span<float> queryGradient, Span<float> keyGradient, Span<float> valueGradient,
        AttentionShape shape, BlockLayout layout, AttentionOptions? options = null)
    {
        options ??= AttentionOptions.Default;
        if (options.KeyValueCache is not null)
            throw new ArgumentException("Backward takes plain K and V tensors; options.KeyValueCache must be null.", nameof(options));
        var forward = CreateProblem(query, key, value, AsForwardResult(output), AsForwardResult(logSumExp), shape, layout, options);
        var problem = CreateBackwardProblem(forward, outputGradient, queryGradient, keyGradient, valueGradient, options);
        var backend = BackendRegistry.Select(options.Backend, forward, backward: true);
        if (Log is not null) Trace("backward " + forward.Settings.Describe(backend.Kind, options.Backend));
        backend.Backward(problem);
        return backend.Kind;
    }

    /// <summary>
    /// Runs <see cref="Forward"/> and keeps what <see cref="AttentionContext.Backward(ReadOnlySpan{float}, Span{float}, Span{float}, Span{float})"/>
    /// needs — the inputs, the output, the log-sum-exp, the shape, layout and options — so that a training step cannot pass
    /// the backward a mismatched buffer. The inputs must not change until the backward has run.
    /// </summary>
    /// <param name="query">Q.</param>
    /// <param name="key">K.</param>
    /// <param name="value">V.</param>
    /// <param name="shape">The sizes.</param>
    /// <param name="layout">Which key blocks each query block attends to.</param>
    /// <param name="options">Options for both passes; <c>null</c> for the defaults.</param>
    /// <param name="output">Where to write O (reused across steps to avoid allocation); empty to allocate.</param>
    /// <param name="logSumExp">Where to write the log-sum-exp; empty to allocate.</param>
    public static AttentionContext ForwardForTraining(ReadOnlyMemory<float> query, ReadOnlyMemory<float> key, ReadOnlyMemory<float> value,
        AttentionShape shape, BlockLayout layout, AttentionOptions? options = null, Memory<float> output = default, Memory<float> logSumExp = default)
    {
        options ??= AttentionOptions.Default;
        shape.Validate(nameof(shape));
        if (output.IsEmpty) output = new float[shape.QueryElements];
        if (logSumExp.IsEmpty) logSumExp = new float[shape.LogSumExpElements];
        var ran = Forward(query.Span, key.Span, value.Span, output.Span, shape, layout, options, logSumExp.Span);
        return new AttentionContext(query, key, value, output, logSumExp, shape, layout, options, ran);
    }
}
