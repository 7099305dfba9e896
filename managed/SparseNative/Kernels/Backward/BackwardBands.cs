using System.Buffers;
using SparseNative.Kernels.Isa;

namespace SparseNative.Kernels.Backward;

/// <summary>
/// How the fused backward cuts a call into bands, and where each active block's dS is kept between its two passes.
/// A unit is one query block of one (batch, key/value head): <c>u = (b·Hkv + kvh)·QueryBlocks + qb</c>, its query group's
/// heads included. Units are taken in order into bands of at most <see cref="BudgetFloats"/> floats of dS (a band has at
/// least one unit). Within a band the key-block pass computes every active block's dS once, in the block's slot
/// (queries × keys, bs × bs); the query-block pass then sums dQ = Σ dS·K from the slots, so S and dP
/// are computed once per active block (5 block products, as with atomics) instead of in both passes (7). Slots are
/// numbered per (unit, head of the group) in row order: <see cref="SlotStart"/> is their prefix sum over all units, and
/// the block at position e of the row is slot <c>SlotStart[u·group + hIdx] + e</c>. The bands depend only on the shape and
/// the layout, never on the thread count.
/// </summary>
internal sealed class BackwardBands : IDisposable
{
    /// <summary>dS floats one band may keep: 32 MiB (2,048 blocks of 64 × 64).</summary>
    public const long BudgetFloats = 8L << 20;

    /// <summary>
    /// A smaller budget for the calls this thread makes (tests: many bands on small problems). Thread-static, because the
    /// bands are planned on the calling thread and other tests run calls at the same time.
    /// </summary>
    [ThreadStatic] internal static long? BudgetOverride;

    public readonly int Units, Group, QueryBlocks;

    /// <summary>Band i covers units <c>[BandStart[i], BandStart[i + 1])</c>.</summary>
    public readonly int[] BandStart;
    public readonly int BandCount;

    /// <summary><c>Units·Group + 1</c> prefix sums of the row lengths (rented: longer than needed).</summary>
    public readonly long[] SlotStart;

    /// <summary>Slots of the band with the most.</summary>
    public readonly long MaxBandSlots;

    public BackwardBands(AttentionShape shape, BlockLayout layout)
    {
        QueryBlocks = layout.QueryBlocks;
        Group = shape.GroupSize;
        Units = checked(shape.Batch * shape.KeyValueHeads * QueryBlocks);
        long floatsPerSlot = (long)layout.BlockSize * layout.BlockSize;
        SlotStart = ArrayPool<long>.Shared.Rent(checked(Units * Group + 1));
        BandStart = ArrayPool<int>.Shared.Rent(Units + 1);
        long budget = BudgetOverride ?? BudgetFloats;
        long slots = 0, bandFirstSlot = 0;
        int bands = 0;
        BandStart[0] = 0;
        for (int u = 0; u < Units; u++)
        {
            int qb = u % QueryBlocks, kvh = u / QueryBlocks % shape.KeyValueHeads;
            long unitSlots = 0;
            for (int i = 0; i < Group; i++) unitSlots += layout.Row(layout.ListForHead(kvh * Group + i), qb).Length;
            // Close the band before this unit when the unit would take it past the budget (a band keeps at least one unit).
            if (u > BandStart[bands] && (slots + unitSlots - bandFirstSlot) * floatsPerSlot > budget)
            {
                MaxBandSlots = Math.Max(MaxBandSlots, slots - bandFirstSlot);
                BandStart[++bands] = u;
                bandFirstSlot = slots;
            }
            for (int i = 0; i < Group; i++)
            {
                SlotStart[u * Group + i] = slots;
                slots += layout.Row(layout.ListForHead(kvh * Group + i), qb).Length;
            }
        }
        SlotStart[Units * Group] = slots;
        MaxBandSlots = Math.Max(MaxBandSlots, slots - bandFirstSlot);
        BandStart[++bands] = Units;
        BandCount = bands;
    }

    /// <summary>
    /// Rents the item ids <c>0 … count − 1</c> by decreasing <paramref name="cost"/> (ties in index order), so that threads
    /// taking items from a shared counter finish together. Return the array to the shared pool.
    /// </summary>
    public static int[] RentByDecreasingCost(int count, Func<int, long> cost)
    {
        var order = ArrayPool<int>.Shared.Rent(count);
        var keys = ArrayPool<long>.Shared.Rent(count);
        try
        {
            for (int i = 0; i < count; i++)
            {
                keys[i] = -(cost(i) << 32) + i;
                order[i] = i;
            }
            Array.Sort(keys, order, 0, count);
        }
        finally
        {
            ArrayPool<long>.Shared.Return(keys);
        }
        return order;
    }

    public void Dispose()
    {
        ArrayPool<long>.Shared.Return(SlotStart);
        ArrayPool<int>.Shared.Return(BandStart);
    }
}

/// <summary>One band of a backward call, as both of its passes see it.</summary>
internal readonly unsafe struct BackwardBand(BackwardBands bands, int index, float* slots)
{
    public readonly int FirstUnit = bands.BandStart[index], EndUnit = bands.BandStart[index + 1];
    public readonly int Group = bands.Group, QueryBlocks = bands.QueryBlocks;
    public readonly long FirstSlot = bands.SlotStart[bands.BandStart[index] * bands.Group];
    private readonly long[] _slotStart = bands.SlotStart;
    private readonly float* _slots = slots;

    /// <summary>The (batch, key/value head) pairs the band touches: <c>FirstHead … EndHead − 1</c>.</summary>
    public int FirstHead => FirstUnit / QueryBlocks;
    public int EndHead => (EndUnit - 1) / QueryBlocks + 1;

    /// <summary>The query blocks of (batch, key/value head) <paramref name="bkv"/> in the band: <c>[from, to)</c>.</summary>
    public (int From, int To) QueryBlockRange(int bkv) =>
        (Math.Max(0, FirstUnit - bkv * QueryBlocks), Math.Min(QueryBlocks, EndUnit - bkv * QueryBlocks));

    /// <summary>The dS slot (bs × bs floats, queries × keys) of the block at position <paramref name="e"/> of the row.</summary>
    public float* Slot(int bkv, int qb, int headInGroup, int e, int bs) =>
        _slots + (_slotStart[(bkv * QueryBlocks + qb) * Group + headInGroup] - FirstSlot + e) * bs * bs;
}
