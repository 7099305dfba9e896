using SparseNative.Kernels.Isa;

namespace SparseNative.Kernels;

/// <summary>
/// Runs the fused kernel over every work item of a call: pins the tensors, orders the items by cost and lets one
/// worker per thread take items from a shared atomic counter. Each item is computed by exactly one thread with fixed
/// arithmetic, so the result is bitwise the same for any thread count.
/// </summary>
internal static unsafe class FusedForward
{
    /// <summary>Below this many active (query, key) block pairs a call runs on the calling thread: waking workers costs more.</summary>
    private const long MinBlocksPerExtraThread = 8;

    public static void Run<TIsa, TVec>(in AttentionProblem p)
        where TIsa : struct, ISimdIsa<TVec>
        where TVec : unmanaged
    {
        var s = p.Shape;
        fixed (float* q = p.Query, k = p.Key, v = p.Value, o = p.Output, lse = p.LogSumExp)
        fixed (int* segQ = p.QuerySegments, segK = p.KeySegments)
        {
            var job = new KernelJob(p, q, k, v, o, lse, segQ, segK);
            int items = checked(s.Batch * s.QueryHeads * job.Geometry.QueryBlocks);
            long work = p.Layout.ActiveBlocks * s.Batch * (s.QueryHeads / p.Layout.LayoutCount);
            int threads = (int)Math.Min(Math.Min(p.Threads, items), Math.Max(1, work / MinBlocksPerExtraThread));
            if (threads <= 1)
            {
                float* scratch = KernelScratch.ForCurrentThread().Reserve(job.ScratchFloats);
                for (int item = 0; item < items; item++) FusedBlockKernel<TIsa, TVec>.Process(job, item, scratch);
                return;
            }

            job.Order = WorkSchedule.RentOrderByCost(s, p.Layout, out job.Count);
            try
            {
                Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ => Drain<TIsa, TVec>(job));
            }
            finally
            {
                System.Buffers.ArrayPool<int>.Shared.Return(job.Order);
            }
        }
    }

    private static void Drain<TIsa, TVec>(KernelJob job)
        where TIsa : struct, ISimdIsa<TVec>
        where TVec : unmanaged
    {
        float* scratch = KernelScratch.ForCurrentThread().Reserve(job.ScratchFloats);
        int next;
        while ((next = Interlocked.Increment(ref job.Next) - 1) < job.Count)
            FusedBlockKernel<TIsa, TVec>.Process(job, job.Order[next], scratch);
    }
}
