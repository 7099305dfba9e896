using System.Buffers;
using SparseNative.Kernels.Isa;

namespace SparseNative.Kernels.Backward;

/// <summary>
/// The backward's first pass: for every query row, the base-2 log-sum-exp (lse · log2 e; +∞ for a row with no allowed
/// key, so every P of the row is 0) and D = rowsum(dO ∘ O), into the job's row arrays. One item per query block of one
/// (batch, query head).
/// </summary>
internal readonly unsafe struct RowStatisticsPass<TIsa, TVec>(BackwardJob job) : IWorkItems
    where TIsa : struct, ISimdIsa<TVec>
    where TVec : unmanaged
{
    public long ScratchFloats => 0;

    public int[] RentOrderByCost(out int count)
    {
        ref readonly var g = ref job.Forward.Geometry;
        count = checked(g.Shape.Batch * g.Shape.QueryHeads * g.QueryBlocks);
        var order = ArrayPool<int>.Shared.Rent(count);
        for (int i = 0; i < count; i++) order[i] = i; // every item costs the same
        return order;
    }

    public void Process(int item, float* scratch)
    {
        var f = job.Forward;
        ref readonly var g = ref f.Geometry;
        var s = g.Shape;
        int bs = g.BlockSize, d = s.HeadDim;
        int qb = item % g.QueryBlocks, bh = item / g.QueryBlocks;
        int h = bh % s.QueryHeads, b = bh / s.QueryHeads;
        int qStart = qb * bs, qValid = Math.Min(bs, s.QueryLength - qStart);
        long stride = g.Queries.RowStride, at = g.Queries.Row(b, h, qStart);
        float* o = f.O + at, dO = job.OutputGradient + at;
        long row = g.LogSumExpBase(b, h) + qStart;
        for (int i = 0; i < qValid; i++)
        {
            float lse = f.Lse[row + i];
            job.RowLse2[row + i] = float.IsNegativeInfinity(lse) ? float.PositiveInfinity : lse * Exp2Polynomial.Log2E;
            job.RowDelta[row + i] = BackwardElementwise<TIsa, TVec>.Dot(dO + i * stride, o + i * stride, d);
        }
    }
}
