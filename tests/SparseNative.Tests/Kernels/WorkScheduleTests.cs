using System.Buffers;
using SparseNative.Kernels;
using Xunit;

namespace SparseNative.Tests.Kernels;

/// <summary>The cost ordering hands out every (batch, head, query block) exactly once, costliest first.</summary>
public class WorkScheduleTests
{
    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(2, 6, 3)]
    [InlineData(3, 4, 4)]
    public void EveryItemOnceByDecreasingCost(int batch, int heads, int lists)
    {
        var s = new AttentionShape(batch, heads, heads, 200, 150, 8);
        var layout = KernelCheck.Layout(s, 16, lists, 0.4, seed: batch * 10 + lists);
        var order = WorkSchedule.RentOrderByCost(s, layout, out int count);
        try
        {
            Assert.Equal(batch * heads * layout.QueryBlocks, count);
            var items = order.AsSpan(0, count).ToArray();
            Assert.Equal(Enumerable.Range(0, count), items.Order());
            int Cost(int item)
            {
                int qb = item % layout.QueryBlocks, h = item / layout.QueryBlocks % heads;
                return layout.Row(layout.ListForHead(h), qb).Length;
            }
            for (int i = 1; i < count; i++) Assert.True(Cost(items[i - 1]) >= Cost(items[i]), $"item {i} costs more than item {i - 1}");
        }
        finally
        {
            ArrayPool<int>.Shared.Return(order);
        }
    }
}
