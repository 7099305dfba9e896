using SparseNative.Dispatch;
using SparseNative.Elements;
using SparseNative.Kernels.Isa;

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
        // It reads float32 K/V only so far; half-precision K/V decode through the fused kernel below.
        if (p.Types == TensorTypes.AllFloat32 && Decode.DecodePlan.Applies(p.Shape, p.Layout))
        {
            Decode.DecodeForward.Run<TIsa, TVec>(p);
            return;
        }
        // One compiled kernel per pair of element types; the block loop itself is written once.
        switch (p.Types.QueryOutput)
        {
            case ElementType.Float32: Run<TIsa, TVec, FloatElement>(p); break;
            case ElementType.Float16: Run<TIsa, TVec, HalfElement>(p); break;
            default: Run<TIsa, TVec, BFloat16Element>(p); break;
        }
    }

    private static void Run<TIsa, TVec, TQ>(in AttentionProblem p)
        where TIsa : struct, ISimdIsa<TVec>
        where TVec : unmanaged
        where TQ : struct, ITensorElement
    {
        switch (p.Types.KeyValue)
        {
            case ElementType.Float32: Run<TIsa, TVec, TQ, FloatElement>(p); break;
            case ElementType.Float16: Run<TIsa, TVec, TQ, HalfElement>(p); break;
            default: Run<TIsa, TVec, TQ, BFloat16Element>(p); break;
        }
    }

    private static void Run<TIsa, TVec, TQ, TKV>(in AttentionProblem p)
        where TIsa : struct, ISimdIsa<TVec>
        where TVec : unmanaged
        where TQ : struct, ITensorElement
        where TKV : struct, ITensorElement
    {
        var s = p.Shape;
        fixed (byte* q = p.QueryData, k = p.KeyData, v = p.ValueData, o = p.OutputData)
        fixed (float* lse = p.LogSumExp)
        fixed (int* segQ = p.QuerySegments, segK = p.KeySegments, table = p.BlockTable, lengths = p.SequenceLengths)
        {
            var job = new KernelJob(p, q, k, v, o, lse, segQ, segK, table, lengths);
            int items = checked(s.Batch * s.QueryHeads * job.Geometry.QueryBlocks);
            long work = p.Layout.ActiveBlocks * s.Batch * (s.QueryHeads / p.Layout.LayoutCount);
            WorkItems.Run(new QueryBlocks<TIsa, TVec, TQ, TKV>(job), items, WorkItems.Threads(p.Threads, work));
        }
    }

    private readonly struct QueryBlocks<TIsa, TVec, TQ, TKV>(KernelJob job) : IWorkItems
        where TIsa : struct, ISimdIsa<TVec>
        where TVec : unmanaged
        where TQ : struct, ITensorElement
        where TKV : struct, ITensorElement
    {
        public long ScratchFloats => job.ScratchFloats;
        public void Process(int item, float* scratch) => FusedBlockKernel<TIsa, TVec>.Process<TQ, TKV>(job, item, scratch);
        public int[] RentOrderByCost(out int count) => WorkSchedule.RentOrderByCost(job.Geometry.Shape, job.Layout, out count);
    }
}
