namespace SparseNative.Kernels;

/// <summary>
/// One backward call as the workers see it: the forward's tensors and geometry (<see cref="Forward"/>, read only), dO, the
/// three gradients, the per-row statistics shared by the two passes, and the work queue of the pass that is running.
/// Pointers are pinned by the caller for the duration of the call.
/// </summary>
internal sealed unsafe class BackwardJob
{
    /// <summary>Q, K, V, O, the log-sum-exp, segment ids, sizes, layout and the token rules, as the forward kernel reads them.</summary>
    public KernelJob Forward = null!;
    public float* OutputGradient, QueryGradient, KeyGradient, ValueGradient;
    public float Scale;

    /// <summary>
    /// <c>[B, Hq, Lq]</c> each: the log-sum-exp in base 2 (+∞ for a row with no allowed key, so every P of the row is 0)
    /// and D = rowsum(dO ∘ O). Written by the query-block pass, read by the key-block pass.
    /// </summary>
    public float* RowLse2, RowDelta;

    /// <summary>Work items of the running pass, most expensive first; workers take the next one with an atomic increment.</summary>
    public int[] Order = [];
    public int Count;
    public int Next;

    /// <summary>Floats of scratch one worker needs (both passes use the same pieces).</summary>
    public long ScratchFloats => BackwardScratchLayout.TotalFloats(Forward.BlockSize, Forward.Shape.HeadDim);

    /// <summary>Offset of row <c>(b, h, i)</c> in a <c>[B, Hq, Lq]</c> array.</summary>
    public long RowIndex(int b, int h, int i) => ((long)b * Forward.Shape.QueryHeads + h) * Forward.Shape.QueryLength + i;

    /// <summary>The job for a validated problem whose tensors the caller has pinned at these addresses.</summary>
    public static BackwardJob Create(in BackwardProblem p, float* q, float* k, float* v, float* o, float* lse, int* segQ, int* segK,
        float* dO, float* dQ, float* dK, float* dV)
    {
        var f = p.Forward;
        return new BackwardJob
        {
            Forward = new KernelJob
            {
                Q = q, K = k, V = v, O = o, Lse = lse,
                SegQ = f.HasSegments ? segQ : null, SegK = f.HasSegments ? segK : null,
                Shape = f.Shape, Layout = f.Layout, Format = f.Format,
                ScaleLog2 = f.Scale * Exp2Polynomial.Log2E, Causal = f.Causal, CausalOffset = f.CausalOffset,
                BlockSize = f.Layout.BlockSize, QueryBlocks = f.Layout.QueryBlocks,
            },
            OutputGradient = dO, QueryGradient = dQ, KeyGradient = dK, ValueGradient = dV, Scale = f.Scale,
        };
    }
}
