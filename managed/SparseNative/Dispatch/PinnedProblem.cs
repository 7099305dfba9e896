namespace SparseNative.Dispatch;

/// <summary>
/// A validated call as the worker threads of a managed backend read it: the tensors as raw pointers (pinned by the caller
/// for the duration of the call; null for an absent log-sum-exp or segment ids), the call's geometry and its layout.
/// Shared by the fused kernels' job and the reference's, so both read one description of the problem.
/// </summary>
internal abstract unsafe class PinnedProblem
{
    public readonly float* Q, K, V, O, Lse;
    public readonly int* SegQ, SegK;
    public readonly AttentionGeometry Geometry;
    public readonly BlockLayout Layout;

    /// <summary>Takes the pointers the caller's <c>fixed</c> statement pinned for <paramref name="p"/>'s spans.</summary>
    protected PinnedProblem(in AttentionProblem p, float* q, float* k, float* v, float* o, float* lse, int* segQ, int* segK)
    {
        Q = q; K = k; V = v; O = o;
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
