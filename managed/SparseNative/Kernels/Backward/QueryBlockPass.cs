using System.Runtime.CompilerServices;
using SparseNative.Kernels.Isa;

namespace SparseNative.Kernels.Backward;

/// <summary>
/// The last pass of one band of the fused backward: dQ, one work item per query block of one query head in the band. The
/// key-block pass has left the dS of every active block of the row in its slot (<see cref="BackwardBand.Slot"/>); the item
/// sums dQ = Σ dS·K over the row's key blocks in ascending order and stores dQ · scale. It skips exactly the blocks the
/// key-block pass skipped (wholly above the causal diagonal, or masked by the segment ids), whose slots hold nothing.
/// Each item owns its rows of dQ, so nothing is shared between threads.
/// </summary>
internal readonly unsafe struct QueryBlockPass<TIsa, TVec>(BackwardJob job, BackwardBand band) : IWorkItems
    where TIsa : struct, ISimdIsa<TVec>
    where TVec : unmanaged
{
    public long ScratchFloats => job.ScratchFloats;

    /// <summary>Items <c>(u − FirstUnit)·group + hIdx</c>, longest rows first.</summary>
    public int[] RentOrderByCost(out int count)
    {
        var layout = job.Forward.Layout;
        var b = band;
        int group = b.Group, heads = job.Forward.Geometry.Shape.KeyValueHeads;
        count = (b.EndUnit - b.FirstUnit) * group;
        return BackwardBands.RentByDecreasingCost(count, i =>
        {
            int u = b.FirstUnit + i / group, kvh = u / b.QueryBlocks % heads;
            return layout.Row(layout.ListForHead(kvh * group + i % group), u % b.QueryBlocks).Length;
        });
    }

    public void Process(int item, float* scratch) => Compute(job, band, item, scratch);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Compute(BackwardJob job, BackwardBand band, int item, float* scratch)
    {
        var f = job.Forward;
        ref readonly var g = ref f.Geometry;
        var s = g.Shape;
        int bs = g.BlockSize, d = s.HeadDim;
        int u = band.FirstUnit + item / band.Group, hIdx = item % band.Group;
        int qb = u % g.QueryBlocks, bkv = u / g.QueryBlocks;
        int kvh = bkv % s.KeyValueHeads, b = bkv / s.KeyValueHeads, h = kvh * s.GroupSize + hIdx;
        int qStart = qb * bs, qValid = Math.Min(bs, s.QueryLength - qStart);

        long qStride = g.Queries.RowStride, kvStride = g.Keys.RowStride;
        float* k = f.K + g.Keys.HeadBase(b, kvh);
        float* dq = scratch + BackwardScratchLayout.AccumulatorA(bs, d);
        float* ones = scratch + BackwardScratchLayout.Ones(bs, d);
        int queryRows = (qValid + 3) / 4 * 4;
        new Span<float>(dq, bs * d).Clear();
        new Span<float>(ones, bs).Fill(1f);

        int querySegment = 0;
        bool queriesUniform = f.SegQ != null && FusedBlockKernel<TIsa, TVec>.IsUniform(f.SegQ + (long)b * s.QueryLength + qStart, qValid, out querySegment);
        var row = f.Layout.Row(f.Layout.ListForHead(h), qb);
        for (int e = 0; e < row.Length; e++)
        {
            int kStart = row[e] * bs, kValid = Math.Min(bs, s.KeyLength - kStart);
            // Columns ascend: once a block lies wholly above the causal diagonal, so do all later ones.
            if (g.Causal && kStart > (long)qStart + qValid - 1 + g.CausalOffset) break;
            if (FusedBlockKernel<TIsa, TVec>.Classify(f, b, qStart, kStart, kValid, bs, queriesUniform, querySegment) ==
                FusedBlockKernel<TIsa, TVec>.BlockKind.Masked) continue;

            float* kBlock = k + kStart * kvStride;
            long kStride = kvStride;
            if (kValid < bs)
            {
                // The sequence's last key block: a zero-padded copy, so the tiles never read past the tensor.
                float* kPad = scratch + BackwardScratchLayout.PaddedA(bs, d);
                FusedBlockKernel<TIsa, TVec>.CopyRowsPadded(kBlock, kvStride, kValid, bs, d, kPad);
                kBlock = kPad; kStride = d;
            }
            MicroKernels<TIsa, TVec>.AccumulateValues<QueriesMajor>(band.Slot(bkv, qb, hIdx, e, bs), bs, queryRows, kValid, kBlock, kStride, dq, d, ones);
        }

        BackwardElementwise<TIsa, TVec>.StoreRowsScaled(dq, d, qValid, job.Scale, job.QueryGradient + g.Queries.Row(b, h, qStart), qStride);
    }
}
