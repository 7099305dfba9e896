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
    /// <param name="q">[B, Hq, Lq, d] in problem.Format.</param>
    /// <param name="k">[B, Hkv, Lk, d].</param>
    /// <param name="v">[B, Hkv, Lk, d].</param>
    /// <param name="output">[B, Hq, Lq, d]; must not overlap the inputs.</param>
    /// <param name="lse">Empty, or [B, Hq, Lq] log-sum-exp (natural log; -infinity for rows with no key).</param>
    /// <exception cref="SparseNativeException">The native side refused the arguments or failed.</exception>
    public static void AttentionForward(in SnProblem problem, in SnLayout layout, ReadOnlySpan<float> q, ReadOnlySpan<float> k,
                                        ReadOnlySpan<float> v, Span<float> output, Span<float> lse)
    {
        SnStatus status;
        fixed (SnProblem* p = &problem)
        fixed (SnLayout* l = &layout)
        fixed (float* qp = q)
        fixed (float* kp = k)
        fixed (float* vp = v)
        fixed (float* op = output)
        fixed (float* lp = lse)
        {
            status = SparseNativeMethods.sn_attention_forward(p, l, qp, (nuint)q.Length, kp, (nuint)k.Length, vp,
                (nuint)v.Length, op, (nuint)output.Length, lp, (nuint)lse.Length);
        }
        NativeStatus.ThrowIfFailed(status);
    }
}
