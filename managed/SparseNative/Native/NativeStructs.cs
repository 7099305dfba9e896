using SparseNative.Interop;
using SparseNative.Dispatch;

namespace SparseNative.Native;

/// <summary>
/// The one translation from managed types to the C ABI's structs, shared by the CPU and CUDA backends. Pointers are
/// the caller's pinned buffers (host or device).
/// </summary>
internal static unsafe class NativeStructs
{
    /// <summary>An <c>sn_layout</c> over the layout's arrays, which the caller has pinned as <paramref name="rows"/> and <paramref name="cols"/>.</summary>
    public static SnLayout Layout(BlockLayout layout, int* rows, int* cols) => new()
    {
        BlockSize = layout.BlockSize, QueryBlocks = layout.QueryBlocks, KeyBlocks = layout.KeyBlocks,
        NumLayouts = layout.LayoutCount, NumColIndices = layout.AllColumnIndices.Length, RowOffsets = rows, ColIndices = cols,
    };

    /// <summary>
    /// An <c>sn_problem</c>. Always sets <c>SN_FLAG_ALLOW_NON_FINITE</c>: the managed side has already scanned for NaN/∞
    /// when the caller asked (AttentionOptions.CheckFinite), so the native side need not scan again.
    /// </summary>
    public static SnProblem Problem(AttentionShape shape, TensorFormat format, bool causal, float scale, int threads,
        int* querySegments, int* keySegments) => new()
    {
        Batch = shape.Batch, QueryHeads = shape.QueryHeads, KvHeads = shape.KeyValueHeads,
        QueryLength = shape.QueryLength, KeyLength = shape.KeyLength, HeadDim = shape.HeadDim, Format = (SnFormat)format,
        Flags = (causal ? SnFlags.Causal : SnFlags.None) | SnFlags.AllowNonFinite,
        Scale = scale, NumThreads = threads, QuerySegmentIds = querySegments, KeySegmentIds = keySegments,
    };

    /// <summary>
    /// The <c>sn_problem</c> of a validated managed problem; segment pointers are null when it has none. Its scale is the
    /// resolved one (<see cref="AttentionOptions.ResolveScale"/>): the C ABI has no default and uses the value as given.
    /// </summary>
    public static SnProblem Problem(in AttentionProblem p, int* querySegments, int* keySegments) =>
        WithTypes(Problem(p.Shape, p.Format, p.Causal, p.Scale, p.Threads,
            p.HasSegments ? querySegments : null, p.HasSegments ? keySegments : null), p.Types);

    /// <summary>The problem with its tensors' element types (Q and O of one, K and V of another).</summary>
    public static SnProblem WithTypes(SnProblem problem, Elements.TensorTypes types)
    {
        problem.QDtype = problem.OutDtype = (SnDtype)types.QueryOutput;
        problem.KDtype = problem.VDtype = (SnDtype)types.KeyValue;
        return problem;
    }
}
