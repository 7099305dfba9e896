namespace SparseNative.Dispatch;

/// <summary>
/// One validated backward call, as every backend receives it: the forward problem it differentiates (whose
/// <see cref="AttentionProblem.Output"/> and <see cref="AttentionProblem.LogSumExp"/> are the forward's results and are
/// only read here) plus dO and the three gradients to write. Built only by <see cref="SparseAttention.Backward"/>.
/// </summary>
internal readonly ref struct BackwardProblem
{
    public readonly AttentionProblem Forward;
    /// <summary>dL/dO, shaped like the output.</summary>
    public readonly ReadOnlySpan<float> OutputGradient;
    /// <summary>dL/dQ, dL/dK, dL/dV: every element is written (zero where no allowed pair reaches it).</summary>
    public readonly Span<float> QueryGradient;
    public readonly Span<float> KeyGradient;
    public readonly Span<float> ValueGradient;

    public BackwardProblem(in AttentionProblem forward, ReadOnlySpan<float> outputGradient,
        Span<float> queryGradient, Span<float> keyGradient, Span<float> valueGradient)
    {
        Forward = forward;
        OutputGradient = outputGradient;
        QueryGradient = queryGradient;
        KeyGradient = keyGradient;
        ValueGradient = valueGradient;
    }
}
