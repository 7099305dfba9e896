using System.Buffers;

namespace SparseNative.Kernels;

/// <summary>
/// Orders the work items of a call by cost — active key blocks in the item's layout row — most expensive first, so that
/// threads taking items from a shared counter finish together (sparse layouts have very uneven rows). A counting
/// sort, O(items + key blocks), into a pooled array: no allocation in the steady state.
/// </summary>
internal static class WorkSchedule
{
    /// <summary>Rents an array holding item ids (see <see cref="KernelJob"/>) by decreasing cost. Return it to the shared pool.</summary>
    public static int[] RentOrderByCost(AttentionShape shape, BlockLayout layout, out int count)
    {
        int qbs = layout.QueryBlocks, kbs = layout.KeyBlocks;
        count = checked(shape.Batch * shape.QueryHeads * qbs);
        var order = ArrayPool<int>.Shared.Rent(count);
        var start = ArrayPool<int>.Shared.Rent(kbs + 2);
        try
        {
            Array.Clear(start, 0, kbs + 2);
            // Bucket sizes by cost (bucket index kbs − cost puts the costliest first), per head; every batch repeats them.
            for (int h = 0; h < shape.QueryHeads; h++)
            {
                var offsets = layout.RowOffsets(layout.ListForHead(h));
                for (int qb = 0; qb < qbs; qb++) start[kbs - (offsets[qb + 1] - offsets[qb]) + 1] += shape.Batch;
            }
            for (int c = 1; c <= kbs + 1; c++) start[c] += start[c - 1];
            for (int b = 0; b < shape.Batch; b++)
                for (int h = 0; h < shape.QueryHeads; h++)
                {
                    var offsets = layout.RowOffsets(layout.ListForHead(h));
                    int first = (b * shape.QueryHeads + h) * qbs;
                    for (int qb = 0; qb < qbs; qb++) order[start[kbs - (offsets[qb + 1] - offsets[qb])]++] = first + qb;
                }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(start);
        }
        return order;
    }
}
