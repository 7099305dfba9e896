using System.Runtime.CompilerServices;
using SparseNative.Kernels.Isa;

namespace SparseNative.Kernels.Backward;

/// <summary>
/// The first pass of one band of the fused backward (<see cref="BackwardBands"/>): dK and dV, one work item per key block
/// of each (batch, key/value head) the band touches. The item packs Kᵀ (scaled by scale·log2 e) and Vᵀ once, then walks
/// every query head of the group and, through the layout's transpose (<see cref="BlockLayout.Column"/>), every query block
/// of the band that attends this key block, from the first one the causal rule lets see it. Per query block: S = Q·Kᵀ,
/// P = 2^(S − lse₂), dV += Pᵀ·dO, dP = dO·Vᵀ, dS = P ∘ (dP − D), dK += dSᵀ·Q, with dS computed in the block's slot for the
/// query-block pass. dK and dV carry over from band to band in the gradient buffers (unscaled until the
/// (batch, head)'s last band, which stores dK · scale). The whole group accumulates in one item, in a fixed order, so dK
/// and dV need no atomics and do not depend on the thread count.
/// </summary>
internal readonly unsafe struct KeyBlockPass<TIsa, TVec>(BackwardJob job, BackwardBand band) : IWorkItems
    where TIsa : struct, ISimdIsa<TVec>
    where TVec : unmanaged
{
    public long ScratchFloats => job.ScratchFloats;

    /// <summary>Items <c>(bkv − FirstHead)·KeyBlocks + kb</c>, the most query blocks in the band first.</summary>
    public int[] RentOrderByCost(out int count)
    {
        var f = job.Forward;
        var b = band;
        int kbs = f.Geometry.KeyBlocks, heads = f.Geometry.Shape.KeyValueHeads;
        count = (b.EndHead - b.FirstHead) * kbs;
        return BackwardBands.RentByDecreasingCost(count, i =>
        {
            int bkv = b.FirstHead + i / kbs, kb = i % kbs, kvh = bkv % heads;
            var (from, to) = b.QueryBlockRange(bkv);
            long c = 0;
            for (int h = kvh * b.Group; h < (kvh + 1) * b.Group; h++) c += InRange(f.Layout.Column(f.Layout.ListForHead(h), kb), from, to).Length;
            return c;
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
        int kb = item % g.KeyBlocks, bkv = band.FirstHead + item / g.KeyBlocks;
        int kvh = bkv % s.KeyValueHeads, b = bkv / s.KeyValueHeads;
        int kStart = kb * bs, kValid = Math.Min(bs, s.KeyLength - kStart);
        var (from, to) = band.QueryBlockRange(bkv);
        bool firstBand = from == 0, lastBand = to == g.QueryBlocks;

        long qStride = g.Queries.RowStride, kvStride = g.Keys.RowStride;
        long kvOffset = g.Keys.Row(b, kvh, kStart);

        float* kT = scratch + BackwardScratchLayout.PackedA(bs, d);
        float* vT = scratch + BackwardScratchLayout.PackedB(bs, d);
        float* p = scratch + BackwardScratchLayout.Scores(bs, d);
        float* dk = scratch + BackwardScratchLayout.AccumulatorA(bs, d);
        float* dv = scratch + BackwardScratchLayout.AccumulatorB(bs, d);
        float* lse2 = scratch + BackwardScratchLayout.RowLse2(bs, d);
        float* delta = scratch + BackwardScratchLayout.RowDelta(bs, d);
        float* ones = scratch + BackwardScratchLayout.Ones(bs, d);

        float* kGradient = job.KeyGradient + kvOffset, vGradient = job.ValueGradient + kvOffset;
        bool any = false;
        for (int h = kvh * s.GroupSize; h < (kvh + 1) * s.GroupSize && !any; h++) any = !InRange(VisibleColumn(f, h, kb, kStart), from, to).IsEmpty;
        // A middle band without blocks for this key block leaves its partial sums where they are.
        if (!any && !firstBand && !lastBand) return;

        int w = TIsa.Width;
        int keyColumns = (kValid + w - 1) / w * w, keyRows = (kValid + 3) / 4 * 4;
        FusedBlockKernel<TIsa, TVec>.PackQueryTransposed(f.K + kvOffset, kvStride, kValid, bs, d, f.ScaleLog2, kT);
        FusedBlockKernel<TIsa, TVec>.PackQueryTransposed(f.V + kvOffset, kvStride, kValid, bs, d, 1f, vT);
        new Span<float>(dk, bs * d).Clear();
        new Span<float>(dv, bs * d).Clear();
        if (!firstBand)
        {
            FusedBlockKernel<TIsa, TVec>.CopyRowsPadded(kGradient, kvStride, kValid, bs, d, dk);
            FusedBlockKernel<TIsa, TVec>.CopyRowsPadded(vGradient, kvStride, kValid, bs, d, dv);
        }
        new Span<float>(ones, bs).Fill(1f);

        for (int h = kvh * s.GroupSize; h < (kvh + 1) * s.GroupSize; h++)
        {
            long qHead = g.Queries.HeadBase(b, h);
            var list = f.Layout.ListForHead(h);
            foreach (int qb in InRange(VisibleColumn(f, h, kb, kStart), from, to))
            {
                int qStart = qb * bs, qValid = Math.Min(bs, s.QueryLength - qStart);
                int querySegment = 0;
                bool queriesUniform = f.SegQ != null &&
                    FusedBlockKernel<TIsa, TVec>.IsUniform(f.SegQ + (long)b * s.QueryLength + qStart, qValid, out querySegment);
                var kind = FusedBlockKernel<TIsa, TVec>.Classify(f, b, qStart, kStart, kValid, bs, queriesUniform, querySegment);
                if (kind == FusedBlockKernel<TIsa, TVec>.BlockKind.Masked) continue;

                float* q = f.Q + qHead + qStart * qStride, dO = job.OutputGradient + qHead + qStart * qStride;
                long stride = qStride;
                int queryRows = (qValid + 3) / 4 * 4;
                if (qValid < bs)
                {
                    // The sequence's last query block: zero-padded copies, so the tiles never read past the tensor.
                    float* qPad = scratch + BackwardScratchLayout.PaddedA(bs, d), doPad = scratch + BackwardScratchLayout.PaddedB(bs, d);
                    FusedBlockKernel<TIsa, TVec>.CopyRowsPadded(q, qStride, qValid, bs, d, qPad);
                    FusedBlockKernel<TIsa, TVec>.CopyRowsPadded(dO, qStride, qValid, bs, d, doPad);
                    q = qPad; dO = doPad; stride = d;
                }
                // The statistics the query-block pass computed; padded rows get P = 0.
                long row = g.LogSumExpBase(b, h) + qStart;
                new ReadOnlySpan<float>(job.RowLse2 + row, qValid).CopyTo(new Span<float>(lse2, qValid));
                new ReadOnlySpan<float>(job.RowDelta + row, qValid).CopyTo(new Span<float>(delta, qValid));
                new Span<float>(lse2 + qValid, queryRows - qValid).Fill(float.PositiveInfinity);
                new Span<float>(delta + qValid, queryRows - qValid).Clear();

                // dS goes straight into the block's slot (query-major, row stride bs), where the query-block pass reads it.
                float* ds = band.Slot(bkv, qb, h - kvh * s.GroupSize, f.Layout.Row(list, qb).BinarySearch(kb), bs);
                MicroKernels<TIsa, TVec>.Scores(q, stride, queryRows, kT, bs, keyColumns, d, p);
                if (kind == FusedBlockKernel<TIsa, TVec>.BlockKind.Partial) MaskQueryMajor(f, b, qStart, qValid, kStart, kValid, bs, keyColumns, p);
                BackwardElementwise<TIsa, TVec>.ProbabilitiesByRow(p, bs, queryRows, keyColumns, lse2);
                MicroKernels<TIsa, TVec>.Scores(dO, stride, queryRows, vT, bs, keyColumns, d, ds);
                BackwardElementwise<TIsa, TVec>.ScoreGradientsByRow(p, ds, bs, queryRows, keyColumns, delta);
                MicroKernels<TIsa, TVec>.AccumulateValues(p, bs, keyRows, qValid, dO, stride, dv, d, ones);
                MicroKernels<TIsa, TVec>.AccumulateValues(ds, bs, keyRows, qValid, q, stride, dk, d, ones);
            }
        }

        BackwardElementwise<TIsa, TVec>.StoreRowsScaled(dk, d, kValid, lastBand ? job.Scale : 1f, kGradient, kvStride);
        BackwardElementwise<TIsa, TVec>.StoreRowsScaled(dv, d, kValid, 1f, vGradient, kvStride);
    }

    /// <summary>The query blocks of an ascending column within <c>[from, to)</c>.</summary>
    private static ReadOnlySpan<int> InRange(ReadOnlySpan<int> column, int from, int to)
    {
        int lo = column.BinarySearch(from), hi = column.BinarySearch(to);
        lo = lo >= 0 ? lo : ~lo;
        hi = hi >= 0 ? hi : ~hi;
        return column[lo..hi];
    }

    /// <summary>
    /// The query blocks of head <paramref name="h"/>'s list that attend key block <paramref name="kb"/>; with the causal rule,
    /// only from the block holding the first query that may see key <paramref name="kStart"/> (<c>i ≥ kStart − offset</c>).
    /// </summary>
    private static ReadOnlySpan<int> VisibleColumn(KernelJob f, int h, int kb, int kStart)
    {
        var column = f.Layout.Column(f.Layout.ListForHead(h), kb);
        ref readonly var g = ref f.Geometry;
        if (!g.Causal) return column;
        long firstQuery = (long)kStart - g.CausalOffset;
        if (firstQuery >= g.Shape.QueryLength) return [];
        int firstBlock = (int)(Math.Max(0, firstQuery) / g.BlockSize);
        int at = column.BinarySearch(firstBlock);
        return column[(at >= 0 ? at : ~at)..];
    }

    /// <summary>
    /// Sets the disallowed entries of the query-major tile s (queries × keys) to −∞: key tail, causal, segment ids, for the
    /// valid query rows (padded rows get P = 0 from their +∞ log-sum-exp). Boundary blocks only.
    /// </summary>
    private static void MaskQueryMajor(KernelJob f, int b, int qStart, int qValid, int kStart, int kValid, int bs, int columns, float* s)
    {
        ref readonly var g = ref f.Geometry;
        var shape = g.Shape;
        int* segQ = f.SegQ == null ? null : f.SegQ + (long)b * shape.QueryLength + qStart;
        int* segK = f.SegK == null ? null : f.SegK + (long)b * shape.KeyLength + kStart;
        for (int i = 0; i < qValid; i++)
        {
            var row = new Span<float>(s + (long)i * bs, columns);
            // Query qStart + i sees keys kStart + j with j ≤ qStart + i + offset − kStart, and only the valid ones.
            long lastVisible = Math.Min((long)qStart + i + g.CausalOffset - kStart, kValid - 1);
            int visible = g.Causal ? (int)Math.Clamp(lastVisible + 1, 0, columns) : kValid;
            row[visible..].Fill(float.NegativeInfinity);
            if (segQ != null)
            {
                int querySegment = segQ[i];
                for (int j = 0; j < visible; j++) if (segK[j] != querySegment) row[j] = float.NegativeInfinity;
            }
        }
    }
}
