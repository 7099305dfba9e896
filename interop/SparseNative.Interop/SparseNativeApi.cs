namespace SparseNative.Interop;

/// <summary>
/// Span-based wrappers over <see cref="SparseNativeMethods"/>: they pin the buffers, pass their exact lengths
/// (so the native side can refuse a short buffer) and throw <see cref="SparseNativeException"/> on failure.
/// </summary>
public static unsafe class SparseNativeApi
{
    /// <summary>
    /// Block-sparse attention forward pass (docs/SEMANTICS.md). Pointers inside <paramref name="problem"/> and
    /// <paramref name="layout"/> (segment ids, row offsets, column indices) must already be pinned by the caller.
    /// </summary>
    /// <param name="problem">Shape and options.</param>
    /// <param name="layout">Block layout.</param>
    /// <param name="q">[B, Hq, Lq, d] in problem.Format, elements of problem.QDtype (float, Half, or ushort bfloat16 bits).</param>
    /// <param name="k">[B, Hkv, Lk, d], elements of problem.KDtype.</param>
    /// <param name="v">[B, Hkv, Lk, d], elements of problem.VDtype.</param>
    /// <param name="output">[B, Hq, Lq, d], elements of problem.OutDtype; must not overlap the inputs.</param>
    /// <param name="lse">Empty, or [B, Hq, Lq] log-sum-exp (natural log; -infinity for rows with no key).</param>
    /// <exception cref="SparseNativeException">The native side refused the arguments or failed.</exception>
    public static void AttentionForward<TQuery, TKeyValue>(in SnProblem problem, in SnLayout layout, ReadOnlySpan<TQuery> q,
        ReadOnlySpan<TKeyValue> k, ReadOnlySpan<TKeyValue> v, Span<TQuery> output, Span<float> lse)
        where TQuery : unmanaged
        where TKeyValue : unmanaged
    {
        fixed (TQuery* qp = q)
        fixed (TKeyValue* kp = k)
        fixed (TKeyValue* vp = v)
        fixed (TQuery* op = output)
        {
            AttentionForward(problem, layout, qp, (nuint)q.Length, kp, (nuint)k.Length, vp, (nuint)v.Length, op,
                (nuint)output.Length, lse);
        }
    }

    /// <summary>
    /// <see cref="AttentionForward{TQuery, TKeyValue}"/> on pinned memory: lengths are element counts of the problem's dtypes.
    /// </summary>
    /// <exception cref="SparseNativeException">The native side refused the arguments or failed.</exception>
    public static void AttentionForward(in SnProblem problem, in SnLayout layout, void* q, nuint qLength, void* k, nuint kLength,
        void* v, nuint vLength, void* output, nuint outputLength, Span<float> lse)
    {
        SnStatus status;
        fixed (SnProblem* p = &problem)
        fixed (SnLayout* l = &layout)
        fixed (float* lp = lse)
        {
            status = SparseNativeMethods.sn_attention_forward(p, l, q, qLength, k, kLength, v, vLength, output, outputLength,
                lp, (nuint)lse.Length);
        }
        NativeStatus.ThrowIfFailed(status);
    }

    /// <summary>
    /// Block-sparse attention backward pass (docs/SEMANTICS.md, "Backward pass"): dQ, dK and dV from dO, for the problem
    /// and layout of the forward call that returned <paramref name="output"/> and <paramref name="lse"/>. Pointers inside
    /// <paramref name="problem"/> and <paramref name="layout"/> must already be pinned by the caller.
    /// </summary>
    /// <param name="problem">Shape and options, as for the forward call.</param>
    /// <param name="layout">Block layout, as for the forward call.</param>
    /// <param name="q">[B, Hq, Lq, d] in problem.Format.</param>
    /// <param name="k">[B, Hkv, Lk, d].</param>
    /// <param name="v">[B, Hkv, Lk, d].</param>
    /// <param name="output">The forward's output, [B, Hq, Lq, d].</param>
    /// <param name="lse">The forward's log-sum-exp, [B, Hq, Lq] (required).</param>
    /// <param name="outputGradient">dL/dO, [B, Hq, Lq, d].</param>
    /// <param name="queryGradient">dL/dQ, shaped like q; every element is written.</param>
    /// <param name="keyGradient">dL/dK, shaped like k; every element is written.</param>
    /// <param name="valueGradient">dL/dV, shaped like v; every element is written.</param>
    /// <exception cref="SparseNativeException">The native side refused the arguments or failed.</exception>
    public static void AttentionBackward(in SnProblem problem, in SnLayout layout, ReadOnlySpan<float> q, ReadOnlySpan<float> k,
        ReadOnlySpan<float> v, ReadOnlySpan<float> output, ReadOnlySpan<float> lse, ReadOnlySpan<float> outputGradient,
        Span<float> queryGradient, Span<float> keyGradient, Span<float> valueGradient)
    {
        SnStatus status;
        fixed (SnProblem* p = &problem)
        fixed (SnLayout* l = &layout)
        fixed (float* qp = q)
        fixed (float* kp = k)
        fixed (float* vp = v)
        fixed (float* op = output)
        fixed (float* lp = lse)
        fixed (float* dop = outputGradient)
        fixed (float* dqp = queryGradient)
        fixed (float* dkp = keyGradient)
        fixed (float* dvp = valueGradient)
        {
            status = SparseNativeMethods.sn_attention_backward(p, l, qp, (nuint)q.Length, kp, (nuint)k.Length, vp, (nuint)v.Length,
                op, (nuint)output.Length, lp, (nuint)lse.Length, dop, (nuint)outputGradient.Length,
                dqp, (nuint)queryGradient.Length, dkp, (nuint)keyGradient.Length, dvp, (nuint)valueGradient.Length);
        }
        NativeStatus.ThrowIfFailed(status);
    }
}
