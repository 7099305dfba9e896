using SparseNative.Interop;
using Xunit;

namespace SparseNative.Tests.Native;

/// <summary>
/// The C library refuses an output that overlaps any input a work item reads, the layout's arrays and the segment ids
/// included: a later work item would read indices an earlier one overwrote (an out-of-bounds read). Called through the
/// public bindings, which let a caller point the structs at any memory.
/// </summary>
public unsafe class NativeOverlapTests
{
    private const int D = 8, L = 64, Bs = 16, Blocks = L / Bs;

    public static TheoryData<string, string> Cases => new()
    {
        { "row_offsets", "out overlaps layout->row_offsets" },
        { "col_indices", "out overlaps layout->col_indices" },
        { "query_segment_ids", "out overlaps problem->query_segment_ids" },
        { "key_segment_ids", "lse overlaps problem->key_segment_ids" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void AnOutputOverOneOfTheArraysTheKernelReadsIsRefused(string aliased, string message)
    {
        if (!SparseNativeLibrary.Status.IsLoaded) Assert.Skip($"native library not loaded: {SparseNativeLibrary.Status.FailureReason}");
        var rng = new Random(15);
        float[] q = Random(rng, L * D), k = Random(rng, L * D), v = Random(rng, L * D);
        // out and lse carry the int32 arrays in their first elements, so the arrays' content stays a valid call.
        var output = new float[L * D];
        var lse = new float[L];
        int[] rows = [0, 1, 3, 6, 10], cols = [0, 0, 1, 0, 1, 2, 0, 1, 2, 3], segq = new int[L], segk = new int[L];
        fixed (float* o = output)
        fixed (float* ls = lse)
        fixed (int* r = rows)
        fixed (int* c = cols)
        fixed (int* sq = segq)
        fixed (int* sk = segk)
        {
            var problem = new SnProblem { Batch = 1, QueryHeads = 1, KvHeads = 1, QueryLength = L, KeyLength = L, HeadDim = D, Scale = 0.35f };
            var layout = new SnLayout { BlockSize = Bs, QueryBlocks = Blocks, KeyBlocks = Blocks, NumLayouts = 1, NumColIndices = cols.Length, RowOffsets = r, ColIndices = c };
            SparseNativeApi.AttentionForward(problem, layout, q, k, v, output, lse); // valid as given

            switch (aliased)
            {
                case "row_offsets": rows.CopyTo(new Span<int>(o, rows.Length)); layout.RowOffsets = (int*)o; break;
                case "col_indices": cols.CopyTo(new Span<int>(o + 100, cols.Length)); layout.ColIndices = (int*)(o + 100); break;
                case "query_segment_ids": new Span<float>(o, L).Clear(); problem.QuerySegmentIds = (int*)o; problem.KeySegmentIds = sk; break;
                default: new Span<float>(ls, L).Clear(); problem.QuerySegmentIds = sq; problem.KeySegmentIds = (int*)ls; break;
            }
            var ex = Assert.Throws<SparseNativeException>(() => SparseNativeApi.AttentionForward(problem, layout, q, k, v, output, lse));
            Assert.Equal(SnStatus.InvalidArgument, ex.Status);
            Assert.Contains(message, ex.Message);
        }
    }

    private static float[] Random(Random rng, int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
}
