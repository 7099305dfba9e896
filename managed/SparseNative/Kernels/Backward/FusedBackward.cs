using System.Buffers;
using SparseNative.Kernels.Isa;
using SparseNative.Dispatch;

namespace SparseNative.Kernels.Backward;

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
                int threads = WorkItems.Threads(f.Threads, f.Layout.ActiveBlocks * s.Batch * (s.QueryHeads / f.Layout.LayoutCount));

                // The query-block pass first: it writes the row statistics the key-block pass reads.
                WorkItems.Run(new QueryBlockPass<TIsa, TVec>(job), checked(s.Batch * s.QueryHeads * g.QueryBlocks), threads);
                WorkItems.Run(new KeyBlockPass<TIsa, TVec>(job), checked(s.Batch * s.KeyValueHeads * g.KeyBlocks), threads);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(rowStats);
        }
    }
}
