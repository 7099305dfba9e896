namespace SparseNative.Dispatch;

/// <summary>
/// A validated call as the worker threads of a managed backend read it: the tensors as raw pointers (pinned by the caller
/// for the duration of the call; null for an absent log-sum-exp or segment ids), the call's geometry and its layout.
/// Shared by the fused kernels' job and the reference's, so both read one description of the problem.
/// </summary>
internal abstract unsafe class PinnedProblem
{
    /// <summary>The tensors' first elements. They hold floats only where <see cref="Types"/> says float32; the kernels
    /// read the others through an <see cref="Elements.ITensorElement"/>.</summary>
    public readonly float* Q, K, V, O;
    public readonly float* Lse;
    public readonly Elements.TensorTypes Types;
    public readonly int* SegQ, SegK;
    public readonly AttentionGeometry Geometry;
    public readonly BlockLayout Layout;

    /// <summary>Takes the pointers the caller's <c>fixed</c> statement pinned for <paramref name="p"/>'s spans.</summary>
    protected PinnedProblem(in AttentionProblem p, void* q, void* k, void* v, void* o, float* lse, int* segQ, int* segK)
    {
        Q = (float*)q; K = (float*)k; V = (float*)v; O = (float*)o;
        Types = p.Types;
        Lse = p.HasLogSumExp ? lse : null;
        SegQ = p.HasSegments ? segQ : null;
        SegK = p.HasSegments ? segK : null;
        Geometry = p.Geometry;
        Layout = p.Layout;
    }

    /// <summary>Whether query <paramref name="i"/> may see key <paramref name="j"/> of batch row <paramref name="b"/> at the token level: the causal rule and the segment ids (docs/SEMANTICS.md).</summary>
    public bool TokenAllowed(int b, int i, int j) =>
        Geometry.CausallyVisible(i, j) &&
        (SegQ == null || SegQ[(long)b * Geometry.Shape.QueryLength + i] == SegK[(long)b * Geometry.Shape.KeyLength + j]);
}
