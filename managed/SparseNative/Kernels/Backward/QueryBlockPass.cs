using System.Runtime.CompilerServices;
using SparseNative.Kernels.Isa;

namespace SparseNative.Kernels.Backward;

/// <summary>
/// The first pass of the fused backward: dQ, one work item per query block of one (batch, query head) — the forward's
/// items. Per item: D = rowsum(dO ∘ O) and the base-2 log-sum-exp of its rows (kept for the key-block pass), Qᵀ scaled
/// by scale·log2 e and dOᵀ packed once; per active key block, Sᵀ = K·Qᵀ, dPᵀ = V·dOᵀ, dSᵀ = 2^(Sᵀ − lse₂) ∘ (dPᵀ − D) and
/// dQ += dSᵀᵀ·K; finally dQ · scale. Each item owns its rows of dQ, so nothing is shared between threads.
/// </summary>
internal readonly unsafe struct QueryBlockPass<TIsa, TVec>(BackwardJob job) : IWorkItems
    where TIsa : struct, ISimdIsa<TVec>
    where TVec : unmanaged
{
    public long ScratchFloats => job.ScratchFloats;

    public int[] RentOrderByCost(out int count) => WorkSchedule.RentOrderByCost(job.Forward.Geometry.Shape, job.Forward.Layout, out count);

    public void Process(int item, float* scratch) => Compute(job, item, scratch);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Compute(BackwardJob job, int item, float* scratch)
    {
        var f = job.Forward;
        ref readonly var g = ref f.Geometry;
        var s = g.Shape;
        int bs = g.BlockSize, d = s.HeadDim;
        int qb = item % g.QueryBlocks, bh = item / g.QueryBlocks;
        int h = bh % s.QueryHeads, b = bh / s.QueryHeads, kvh = h / s.GroupSize;
        int qStart = qb * bs, qValid = Math.Min(bs, s.QueryLength - qStart);

        long qStride = g.Queries.RowStride, kvStride = g.Keys.RowStride;
        long qOffset = g.Queries.Row(b, h, qStart);
        float* k = f.K + g.Keys.HeadBase(b, kvh);
        float* v = f.V + g.Keys.HeadBase(b, kvh);

        float* qT = scratch + BackwardScratchLayout.PackedA(bs, d);
        float* doT = scratch + BackwardScratchLayout.PackedB(bs, d);
        float* sT = scratch + BackwardScratchLayout.Scores(bs, d);
        float* dsT = scratch + BackwardScratchLayout.Gradients(bs, d);
        float* dq = scratch + BackwardScratchLayout.AccumulatorA(bs, d);
        float* lse2 = scratch + BackwardScratchLayout.RowLse2(bs, d);
        float* delta = scratch + BackwardScratchLayout.RowDelta(bs, d);
        float* ones = scratch + BackwardScratchLayout.Ones(bs, d);

        int w = TIsa.Width;
        int queryColumns = (qValid + w - 1) / w * w, queryRows = (qValid + 3) / 4 * 4;
        RowStatistics(job, b, h, qStart, qValid, bs, f.O + qOffset, job.OutputGradient + qOffset, qStride, d, lse2, delta);
        FusedBlockKernel<TIsa, TVec>.PackQueryTransposed(f.Q + qOffset, qStride, qValid, bs, d, f.ScaleLog2, qT);
        FusedBlockKernel<TIsa, TVec>.PackQueryTransposed(job.OutputGradient + qOffset, qStride, qValid, bs, d, 1f, doT);
        new Span<float>(dq, bs * d).Clear();
        new Span<float>(ones, bs).Fill(1f);

        int querySegment = 0;
        bool queriesUniform = f.SegQ != null && FusedBlockKernel<TIsa, TVec>.IsUniform(f.SegQ + (long)b * s.QueryLength + qStart, qValid, out querySegment);
        foreach (int kb in f.Layout.Row(f.Layout.ListForHead(h), qb))
        {
            int kStart = kb * bs, kValid = Math.Min(bs, s.KeyLength - kStart);
            // Columns ascend: once a block lies wholly above the causal diagonal, so do all later ones.
            if (g.Causal && kStart > (long)qStart + qValid - 1 + g.CausalOffset) break;
            var kind = FusedBlockKernel<TIsa, TVec>.Classify(f, b, qStart, kStart, kValid, bs, queriesUniform, querySegment);
            if (kind == FusedBlockKernel<TIsa, TVec>.BlockKind.Masked) continue;

            float* kBlock = k + kStart * kvStride, vBlock = v + kStart * kvStride;
            long kStride = kvStride;
            int keyRows = (kValid + 3) / 4 * 4;
            if (kValid < bs)
            {
                // The sequence's last key block: zero-padded copies, so the tiles never read past the tensor.
                float* kPad = scratch + BackwardScratchLayout.PaddedA(bs, d), vPad = scratch + BackwardScratchLayout.PaddedB(bs, d);
                FusedBlockKernel<TIsa, TVec>.CopyRowsPadded(kBlock, kvStride, kValid, bs, d, kPad);
                FusedBlockKernel<TIsa, TVec>.CopyRowsPadded(vBlock, kvStride, kValid, bs, d, vPad);
                kBlock = kPad; vBlock = vPad; kStride = d;
            }

            MicroKernels<TIsa, TVec>.Scores(kBlock, kStride, keyRows, qT, bs, queryColumns, d, sT);
            if (kind == FusedBlockKernel<TIsa, TVec>.BlockKind.Partial)
                FusedBlockKernel<TIsa, TVec>.ApplyTokenMask(f, b, qStart, qValid, kStart, kValid, bs, sT);
            MicroKernels<TIsa, TVec>.Scores(vBlock, kStride, keyRows, doT, bs, queryColumns, d, dsT);
            BackwardElementwise<TIsa, TVec>.ScoreGradientsByColumn(sT, dsT, bs, keyRows, queryColumns, lse2, delta);
            MicroKernels<TIsa, TVec>.AccumulateValues(dsT, bs, queryRows, kValid, kBlock, kStride, dq, d, ones);
        }

        BackwardElementwise<TIsa, TVec>.StoreRowsScaled(dq, d, qValid, job.Scale, job.QueryGradient + qOffset, qStride);
    }

    /// <summary>
    /// lse₂ = lse · log2 e (+∞ for a row with no allowed key) and D = rowsum(dO ∘ O) for the block's rows: into scratch,
    /// padded to the block (+∞ and 0, so padded query columns get P = 0), and into the job's row arrays for the key-block pass.
    /// </summary>
    private static void RowStatistics(BackwardJob job, int b, int h, int qStart, int qValid, int bs, float* o, float* dO,
        long stride, int d, float* lse2, float* delta)
    {
        var f = job.Forward;
        long row = f.Geometry.LogSumExpBase(b, h) + qStart;
        for (int i = 0; i < qValid; i++)
        {
            float lse = f.Lse[row + i];
            lse2[i] = float.IsNegativeInfinity(lse) ? float.PositiveInfinity : lse * Exp2Polynomial.Log2E;
            delta[i] = BackwardElementwise<TIsa, TVec>.Dot(dO + i * stride, o + i * stride, d);
        }
        new Span<float>(lse2 + qValid, bs - qValid).Fill(float.PositiveInfinity);
        new Span<float>(delta + qValid, bs - qValid).Clear();
        new ReadOnlySpan<float>(lse2, qValid).CopyTo(new Span<float>(job.RowLse2 + row, qValid));
        new ReadOnlySpan<float>(delta, qValid).CopyTo(new Span<float>(job.RowDelta + row, qValid));
    }
}
