using System.Buffers;
using SparseNative.Kernels.Isa;

namespace SparseNative.Kernels;

/// <summary>
/// Runs the fused backward (FlashAttention-2's algorithm over the active blocks) in two passes with no atomics:
/// <see cref="QueryBlockPass{TIsa, TVec}"/> (dQ, one item per query block, plus each row's D and base-2 log-sum-exp), then
/// <see cref="KeyBlockPass{TIsa, TVec}"/> (dK and dV, one item per key block of a key/value head, its whole query group
/// inside the item). Every gradient element is written by exactly one item with fixed arithmetic, so the result is
/// bitwise the same for any thread count. The price of that is recomputing S and dP in both passes: 7 block GEMMs per
/// active block instead of the 5 of an accumulate-dQ-with-atomics design.
/// </summary>
internal static unsafe class FusedBackward
{
    /// <summary>Below this many active block pairs per extra thread a pass runs on the calling thread.</summary>
    private const long MinBlocksPerExtraThread = 8;

    public static void Run<TIsa, TVec>(in BackwardProblem p)
        where TIsa : struct, ISimdIsa<TVec>
        where TVec : unmanaged
    {
        var f = p.Forward;
        var s = f.Shape;
        var rowStats = ArrayPool<float>.Shared.Rent(checked((int)BackwardJob.RowStatsFloats(s)));
        try
        {
            fixed (float* q = f.Query, k = f.Key, v = f.Value, o = f.Output, lse = f.LogSumExp)
            fixed (float* dO = p.OutputGradient, dQ = p.QueryGradient, dK = p.KeyGradient, dV = p.ValueGradient)
            fixed (int* segQ = f.QuerySegments, segK = f.KeySegments)
            fixed (float* stats = rowStats)
            {
                var job = new BackwardJob(new KernelJob(f, q, k, v, o, lse, segQ, segK), f.Scale, dO, dQ, dK, dV, stats);
                ref readonly var g = ref job.Forward.Geometry;
                long work = f.Layout.ActiveBlocks * s.Batch * (s.QueryHeads / f.Layout.LayoutCount);
                int threads = (int)Math.Min(f.Threads, Math.Max(1, work / MinBlocksPerExtraThread));

                // The query-block pass first: it writes the row statistics the key-block pass reads.
                RunPass<QueryBlockPass<TIsa, TVec>>(job, checked(s.Batch * s.QueryHeads * g.QueryBlocks), threads);
                RunPass<KeyBlockPass<TIsa, TVec>>(job, checked(s.Batch * s.KeyValueHeads * g.KeyBlocks), threads);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(rowStats);
        }
    }

    private static void RunPass<TPass>(BackwardJob job, int items, int threads)
        where TPass : struct, IBackwardPass
    {
        threads = Math.Min(threads, items);
        if (threads <= 1)
        {
            float* scratch = KernelScratch.ForCurrentThread().Reserve(job.ScratchFloats);
            for (int item = 0; item < items; item++) TPass.Process(job, item, scratch);
            return;
        }
        job.Order = TPass.RentOrderByCost(job, out job.Count);
        job.Next = 0;
        try
        {
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ => Drain<TPass>(job));
        }
        finally
        {
            ArrayPool<int>.Shared.Return(job.Order);
            job.Order = [];
        }
    }

    private static void Drain<TPass>(BackwardJob job) where TPass : struct, IBackwardPass
    {
        float* scratch = KernelScratch.ForCurrentThread().Reserve(job.ScratchFloats);
        int next;
        while ((next = Interlocked.Increment(ref job.Next) - 1) < job.Count)
            TPass.Process(job, job.Order[next], scratch);
    }
}
