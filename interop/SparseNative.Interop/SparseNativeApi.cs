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

    /// <summary>
    /// Merges two partial results over disjoint key sets (SEMANTICS.md, "Merging"). The three output-shaped
    /// spans must have the same length, as must the three lse spans. <paramref name="output"/> may be the same
    /// memory as <paramref name="outA"/> or <paramref name="outB"/> (and <paramref name="lse"/> as an input lse).
    /// </summary>
    /// <param name="batch">Batch size.</param>
    /// <param name="heads">Heads.</param>
    /// <param name="length">Sequence length.</param>
    /// <param name="headDim">Head dimension (any value &gt;= 1).</param>
    /// <param name="format">Memory format of the output-shaped spans.</param>
    /// <param name="flags"><see cref="SnFlags.None"/> or <see cref="SnFlags.AllowNonFinite"/>.</param>
    /// <param name="outA">First partial output.</param>
    /// <param name="lseA">First partial lse.</param>
    /// <param name="outB">Second partial output.</param>
    /// <param name="lseB">Second partial lse.</param>
    /// <param name="output">Merged output.</param>
    /// <param name="lse">Merged lse.</param>
    /// <exception cref="ArgumentException">The spans' lengths differ.</exception>
    /// <exception cref="SparseNativeException">The native side refused the arguments.</exception>
    public static void MergeStates(int batch, int heads, int length, int headDim, SnFormat format, SnFlags flags,
                                   ReadOnlySpan<float> outA, ReadOnlySpan<float> lseA, ReadOnlySpan<float> outB,
                                   ReadOnlySpan<float> lseB, Span<float> output, Span<float> lse)
    {
        if (outA.Length != output.Length || outB.Length != output.Length)
            throw new ArgumentException($"outA ({outA.Length}), outB ({outB.Length}) and output ({output.Length}) must have the same length.", nameof(output));
        if (lseA.Length != lse.Length || lseB.Length != lse.Length)
            throw new ArgumentException($"lseA ({lseA.Length}), lseB ({lseB.Length}) and lse ({lse.Length}) must have the same length.", nameof(lse));
        SnStatus status;
        fixed (float* oa = outA)
        fixed (float* la = lseA)
        fixed (float* ob = outB)
        fixed (float* lb = lseB)
        fixed (float* o = output)
        fixed (float* l = lse)
        {
            status = SparseNativeMethods.sn_merge_states(batch, heads, length, headDim, format, flags, oa, la, ob, lb, o, l,
                (nuint)output.Length, (nuint)lse.Length);
        }
        NativeStatus.ThrowIfFailed(status);
    }
}
