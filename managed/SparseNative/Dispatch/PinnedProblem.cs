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

    /// <summary>A paged cache's block table <c>[B, BlocksPerSequence]</c>, and per-sequence key lengths <c>[B]</c>; null when absent.</summary>
    public readonly int* BlockTable, SequenceLengths;
    private readonly int _blocksPerSequence;
    public readonly AttentionGeometry Geometry;
    public readonly BlockLayout Layout;

    /// <summary>Takes the pointers the caller's <c>fixed</c> statement pinned for <paramref name="p"/>'s spans (and its cache's
    /// block table and sequence lengths: <see cref="AttentionProblem.BlockTable"/>, <see cref="AttentionProblem.SequenceLengths"/>).</summary>
    protected PinnedProblem(in AttentionProblem p, void* q, void* k, void* v, void* o, float* lse, int* segQ, int* segK,
        int* blockTable = null, int* sequenceLengths = null)
    {
        var cache = p.Settings.Cache;
        BlockTable = cache is { IsPaged: true } ? blockTable : null;
        SequenceLengths = cache is { SequenceLengths.IsEmpty: false } ? sequenceLengths : null;
        _blocksPerSequence = cache?.BlocksPerSequence ?? 0;
        Q = (float*)q; O = (float*)o;
        Types = p.Types;
        // A tensor-span call's K and V are pinned by its caller already; the spans are empty then.
        K = p.KeyPointer != null ? p.KeyPointer : (float*)k;
        V = p.ValuePointer != null ? p.ValuePointer : (float*)v;
        Lse = p.HasLogSumExp ? lse : null;
        SegQ = p.HasSegments ? segQ : null;
        SegK = p.HasSegments ? segK : null;
        Geometry = p.Geometry;
        Layout = p.Layout;
    }

    /// <summary>
    /// Offset of key (or value) token <paramref name="t"/> of K/V head <paramref name="h"/> in batch row <paramref name="b"/>:
    /// through the block table for a paged cache (the token's page, its row in the page), else where the tensor rows put it.
    /// The rows of one key block are always <see cref="TensorRows.RowStride"/> apart.
    /// </summary>
    public long KeyRow(int b, int h, int t)
    {
        if (BlockTable == null) return Geometry.Keys.Row(b, h, t);
        int bs = Geometry.BlockSize;
        return Geometry.Keys.Row(BlockTable[(long)b * _blocksPerSequence + t / bs], h, t % bs);
    }

    /// <summary>Keys of sequence <paramref name="b"/>: its entry of the cache's sequence lengths, else KeyLength.</summary>
    public int KeyLength(int b) => SequenceLengths == null ? Geometry.Shape.KeyLength : SequenceLengths[b];

    /// <summary>Sequence <paramref name="b"/>'s causal offset, its key length − QueryLength: the rule is <c>j ≤ i + offset</c>.</summary>
    public long CausalOffset(int b) => (long)KeyLength(b) - Geometry.Shape.QueryLength;

    /// <summary>Whether the causal rule (when it applies) lets query <paramref name="i"/> of sequence <paramref name="b"/> see key <paramref name="j"/>.</summary>
    public bool CausallyVisible(int b, int i, int j) => !Geometry.Causal || j <= i + CausalOffset(b);

    /// <summary>Whether query <paramref name="i"/> may see key <paramref name="j"/> of batch row <paramref name="b"/> at the token level: the sequence's length, the causal rule and the segment ids (docs/SEMANTICS.md).</summary>
    public bool TokenAllowed(int b, int i, int j) =>
        j < KeyLength(b) && CausallyVisible(b, i, j) &&
        (SegQ == null || SegQ[(long)b * Geometry.Shape.QueryLength + i] == SegK[(long)b * Geometry.Shape.KeyLength + j]);
}
