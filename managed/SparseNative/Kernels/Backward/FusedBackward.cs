using System.Buffers;
using SparseNative.Kernels.Isa;
using SparseNative.Dispatch;

namespace SparseNative.Kernels.Backward;

/// <summary>
/// Runs the fused backward (FlashAttention-2's algorithm over the active blocks) with no atomics: first the row statistics
/// (<see cref="RowStatisticsPass{TIsa, TVec}"/>: base-2 log-sum-exp and D = rowsum(dO ∘ O)), then band by band
/// (<see cref="BackwardBands"/>) the key-block pass (<see cref="KeyBlockPass{TIsa, TVec}"/>: S, P, dP, dS, dV, dK once per
/// active block, dS kept) and the query-block pass (<see cref="QueryBlockPass{TIsa, TVec}"/>: dQ = Σ dS·K from the kept dS).
/// That is the 5 block products per active block of an accumulate-dQ-with-atomics design, at the price of keeping one
/// band's dS (at most <see cref="BackwardBands.BudgetFloats"/> floats, from a shared pool). Every gradient element is
/// written by exactly one item per band with fixed arithmetic and the bands do not depend on the thread count, so the
/// result is bitwise the same for any thread count.
/// </summary>
internal static unsafe class FusedBackward
{
    public static void Run<TIsa, TVec>(in BackwardProblem p)
        where TIsa : struct, ISimdIsa<TVec>
        where TVec : unmanaged
    {
        var f = p.Forward;
        var s = f.Shape;
        var layout = f.Layout;
        using var bands = new BackwardBands(s, layout);
        var rowStats = ArrayPool<float>.Shared.Rent(checked((int)BackwardJob.RowStatsFloats(s)));
        var slots = ArrayPool<float>.Shared.Rent(checked((int)Math.Max(1, bands.MaxBandSlots * layout.BlockSize * layout.BlockSize)));
        try
        {
            fixed (float* q = f.Query, k = f.Key, v = f.Value, o = f.Output, lse = f.LogSumExp)
            fixed (float* dO = p.OutputGradient, dQ = p.QueryGradient, dK = p.KeyGradient, dV = p.ValueGradient)
            fixed (int* segQ = f.QuerySegments, segK = f.KeySegments)
            fixed (float* stats = rowStats, kept = slots)
            {
                var job = new BackwardJob(new KernelJob(f, q, k, v, o, lse, segQ, segK), f.Scale, dO, dQ, dK, dV, stats);
                ref readonly var g = ref job.Forward.Geometry;
                int threads = WorkItems.Threads(f.Threads, layout.ActiveBlocks * s.Batch * (s.QueryHeads / layout.LayoutCount));

                WorkItems.Run(new RowStatisticsPass<TIsa, TVec>(job), checked(s.Batch * s.QueryHeads * g.QueryBlocks), threads);
                for (int i = 0; i < bands.BandCount; i++)
                {
                    var band = new BackwardBand(bands, i, kept);
                    WorkItems.Run(new KeyBlockPass<TIsa, TVec>(job, band), (band.EndHead - band.FirstHead) * g.KeyBlocks, threads);
                    WorkItems.Run(new QueryBlockPass<TIsa, TVec>(job, band), (band.EndUnit - band.FirstUnit) * band.Group, threads);
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(rowStats);
            ArrayPool<float>.Shared.Return(slots);
        }
    }
}
