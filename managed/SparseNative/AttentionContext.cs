namespace SparseNative;

/// <summary>
/// One forward call kept for its backward pass (made by <see cref="SparseAttention.ForwardForTraining"/>): the inputs,
/// the output, the log-sum-exp, the shape, the layout and the options. Its <see cref="Backward(ReadOnlySpan{float}, Span{float}, Span{float}, Span{float})"/>
/// takes only dO and the gradient buffers, so the forward's tensors cannot be mixed up with another call's.
/// </summary>
/// <remarks>The context holds references, not copies: Q, K, V, O and the log-sum-exp must not change until the backward has run.</remarks>
public sealed class AttentionContext
{
    internal AttentionContext(ReadOnlyMemory<float> query, ReadOnlyMemory<float> key, ReadOnlyMemory<float> value,
        ReadOnlyMemory<float> output, ReadOnlyMemory<float> logSumExp, AttentionShape shape, BlockLayout layout,
        AttentionOptions options, Backend forwardBackend)
    {
        Query = query; Key = key; Value = value; Output = output; LogSumExp = logSumExp;
        Shape = shape; Layout = layout; Options = options; ForwardBackend = forwardBackend;
    }

    /// <summary>Q as given to the forward.</summary>
    public ReadOnlyMemory<float> Query { get; }

    /// <summary>K as given to the forward.</summary>
    public ReadOnlyMemory<float> Key { get; }

    /// <summary>V as given to the forward.</summary>
    public ReadOnlyMemory<float> Value { get; }

    /// <summary>The attention output O, shaped like Q.</summary>
    public ReadOnlyMemory<float> Output { get; }

    /// <summary>The forward's log-sum-exp, <c>[Batch, QueryHeads, QueryLength]</c>.</summary>
    public ReadOnlyMemory<float> LogSumExp { get; }

    /// <summary>The sizes.</summary>
    public AttentionShape Shape { get; }

    /// <summary>The block layout of both passes.</summary>
    public BlockLayout Layout { get; }

    /// <summary>The options of both passes.</summary>
    public AttentionOptions Options { get; }

    /// <summary>The backend the forward ran on.</summary>
    public Backend ForwardBackend { get; }

    /// <summary>Writes dL/dQ, dL/dK and dL/dV for the given dL/dO (see <see cref="SparseAttention.Backward"/>).</summary>
    /// <returns>The backend that ran.</returns>
    public Backend Backward(ReadOnlySpan<float> outputGradient, Span<float> queryGradient, Span<float> keyGradient, Span<float> valueGradient) =>
        SparseAttention.Backward(Query.Span, Key.Span, Value.Span, Output.Span, LogSumExp.Span, outputGradient,
            queryGradient, keyGradient, valueGradient, Shape, Layout, Options);

    /// <summary>The gradients for the given dL/dO in new arrays: dQ shaped like Q, dK and dV shaped like K.</summary>
    public (float[] Query, float[] Key, float[] Value) Backward(ReadOnlySpan<float> outputGradient)
    {
        var dq = new float[Shape.QueryElements];
        var dk = new float[Shape.KeyElements];
        var dv = new float[Shape.KeyElements];
        Backward(outputGradient, dq, dk, dv);
        return (dq, dk, dv);
    }
}
