using System.Buffers;

namespace SparseNative.Kernels.Backward;

/// <summary>
/// Orders the key-block items of the backward's second pass, <c>(b·Hkv + kvh)·KeyBlocks + kb</c>, by cost — the query
/// blocks of the whole query group that attend the key block — most expensive first, so threads taking items from a
/// shared counter finish together. A counting sort into a pooled array, like <see cref="WorkSchedule"/> for the query blocks.
/// </summary>
internal static class BackwardSchedule
{
    /// <summary>Rents an array of key-block item ids by decreasing cost. Return it to the shared pool.</summary>
    public static int[] RentKeyBlockOrder(AttentionShape shape, BlockLayout layout, out int count)
    {
        int kbs = layout.KeyBlocks, heads = shape.KeyValueHeads, group = shape.GroupSize;
        int maxCost = group * layout.QueryBlocks;
        count = checked(shape.Batch * heads * kbs);
        var order = ArrayPool<int>.Shared.Rent(count);
        var cost = ArrayPool<int>.Shared.Rent(heads * kbs);
        var start = ArrayPool<int>.Shared.Rent(maxCost + 2);
        try
        {
            Array.Clear(start, 0, maxCost + 2);
            for (int kvh = 0; kvh < heads; kvh++)
                for (int kb = 0; kb < kbs; kb++)
                {
                    int c = 0;
                    for (int h = kvh * group; h < (kvh + 1) * group; h++) c += layout.Column(layout.ListForHead(h), kb).Length;
                    cost[kvh * kbs + kb] = c;
                    // Bucket maxCost − cost puts the costliest first; every batch repeats the same costs.
                    start[maxCost - c + 1] += shape.Batch;
                }
            for (int c = 1; c <= maxCost + 1; c++) start[c] += start[c - 1];
            for (int b = 0; b < shape.Batch; b++)
                for (int i = 0; i < heads * kbs; i++)
                    order[start[maxCost - cost[i]]++] = b * heads * kbs + i;
        }
        finally
        {
            ArrayPool<int>.Shared.Return(cost);
            ArrayPool<int>.Shared.Return(start);
        }
        return order;
    }
}
