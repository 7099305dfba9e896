using System.Buffers;
using SparseNative.Dispatch;
using SparseNative.Kernels;
using SparseNative.Kernels.Isa;

namespace SparseNative.Decode;

/// <summary>
/// Runs the decode kernel over a call with few query rows (<see cref="DecodePlan.Applies"/>): the chunks of every pass on
/// the worker threads, then the merges in chunk order on the calling thread.
/// </summary>
internal static unsafe class DecodeForward
{
    public static void Run<TIsa, TVec>(in AttentionProblem p)
        where TIsa : struct, ISimdIsa<TVec>
        where TVec : unmanaged
    {
        var plan = new DecodePlan(p.Shape, p.Layout);
        long stateFloats = plan.StateFloats(p.Shape.HeadDim) * plan.Items;
        float[] states = ArrayPool<float>.Shared.Rent(checked((int)stateFloats));
        try
        {
            fixed (float* q = p.Query, k = p.Key, v = p.Value, o = p.Output, lse = p.LogSumExp, st = states)
            fixed (int* segQ = p.QuerySegments, segK = p.KeySegments, table = p.BlockTable, lengths = p.SequenceLengths)
            {
                var job = new KernelJob(p, q, k, v, o, lse, segQ, segK, table, lengths);
                WorkItems.Run(new Chunks<TIsa, TVec>(job, plan, st), plan.Items, WorkItems.Threads(p.Threads, plan.ActiveBlocks));
                for (int item = 0; item < plan.Items; item += plan.Chunks[plan.ItemPass[item]])
                    DecodeKernel<TIsa, TVec>.Finish(job, plan, item, st);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(states);
        }
    }

    private readonly struct Chunks<TIsa, TVec>(KernelJob job, DecodePlan plan, float* states) : IWorkItems
        where TIsa : struct, ISimdIsa<TVec>
        where TVec : unmanaged
    {
        public long ScratchFloats => plan.ScratchFloats(job.Geometry.BlockSize, job.Geometry.Shape.HeadDim);
        public void Process(int item, float* scratch) => DecodeKernel<TIsa, TVec>.Process(job, plan, item, states, scratch);

        public int[] RentOrderByCost(out int count)
        {
            // The chunks of a pass are equal within one block; item order keeps a pass's chunks together in the cache.
            count = plan.Items;
            var order = ArrayPool<int>.Shared.Rent(count);
            for (int i = 0; i < count; i++) order[i] = i;
            return order;
        }
    }
}
