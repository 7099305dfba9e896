using SparseNative.Kernels.Isa;
using SparseNative.Dispatch;

namespace SparseNative.Kernels;

/// <summary>
/// Runs the fused kernel over every work item of a call: pins the tensors and hands the items — one query block of one
/// head each, ordered by cost — to <see cref="WorkItems"/>, which keeps the result bitwise the same for any thread count.
/// </summary>
internal static unsafe class FusedForward
{
    public static void Run<TIsa, TVec>(in AttentionProblem p)
        where TIsa : struct, ISimdIsa<TVec>
        where TVec : unmanaged
    {
        // Few query rows (decoding): the kernel that reads each K/V block once per GQA group and splits the keys across cores.
        if (Decode.DecodePlan.Applies(p.Shape, p.Layout))
        {
            Decode.DecodeForward.Run<TIsa, TVec>(p);
            return;
        }
        var s = p.Shape;
        fixed (float* q = p.Query, k = p.Key, v = p.Value, o = p.Output, lse = p.LogSumExp)
        fixed (int* segQ = p.QuerySegments, segK = p.KeySegments, table = p.BlockTable, lengths = p.SequenceLengths)
        {
            var job = new KernelJob(p, q, k, v, o, lse, segQ, segK, table, lengths);
            int items = checked(s.Batch * s.QueryHeads * job.Geometry.QueryBlocks);
            long work = p.Layout.ActiveBlocks * s.Batch * (s.QueryHeads / p.Layout.LayoutCount);
            WorkItems.Run(new QueryBlocks<TIsa, TVec>(job), items, WorkItems.Threads(p.Threads, work));
        }
    }

    private readonly struct QueryBlocks<TIsa, TVec>(KernelJob job) : IWorkItems
        where TIsa : struct, ISimdIsa<TVec>
        where TVec : unmanaged
    {
        public long ScratchFloats => job.ScratchFloats;
        public void Process(int item, float* scratch) => FusedBlockKernel<TIsa, TVec>.Process(job, item, scratch);
        public int[] RentOrderByCost(out int count) => WorkSchedule.RentOrderByCost(job.Geometry.Shape, job.Layout, out count);
    }
}
