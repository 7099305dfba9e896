namespace SparseNative.Distributed;

/// <summary>
/// What the layout makes each rank need from each other rank, computed identically on every rank from the layout and
/// the sharding alone (so no rank has to ask another what to send). Under a causal mask (self-attention, bottom-right
/// = top-left since the lengths are equal) a key block after the query block is fully masked and is never needed.
/// </summary>
internal sealed class ExchangePlan
{
    private readonly int[][][] _needed;

    private ExchangePlan(SequenceSharding sharding, BlockLayout layout, bool causal, int[][][] needed)
    {
        Sharding = sharding;
        Layout = layout;
        Causal = causal;
        _needed = needed;
    }

    internal SequenceSharding Sharding { get; }
    internal BlockLayout Layout { get; }
    internal bool Causal { get; }

    internal static ExchangePlan Create(SequenceSharding sharding, BlockLayout layout, bool causal)
    {
        int ranks = sharding.Ranks, blocks = sharding.Blocks;
        var needed = new int[ranks][][];
        var seenBy = new int[blocks]; // q + 1 once rank q's rows reference the block: one pass over the active blocks in all
        var touched = new List<int>();
        for (int q = 0; q < ranks; q++)
        {
            touched.Clear();
            foreach (int i in sharding.BlocksOf(q))
                for (int l = 0; l < layout.LayoutCount; l++)
                    foreach (int j in layout.Row(l, i))
                        if ((!causal || j <= i) && seenBy[j] != q + 1) { seenBy[j] = q + 1; touched.Add(j); }
            touched.Sort(); // ascending: each source's blocks travel in global order
            var bySource = new List<int>[ranks];
            for (int s = 0; s < ranks; s++) bySource[s] = [];
            foreach (int j in touched) bySource[sharding.OwnerOf(j)].Add(j);
            needed[q] = bySource.Select(list => list.ToArray()).ToArray();
        }
        return new ExchangePlan(sharding, layout, causal, needed);
    }

    /// <summary>The key blocks (global, ascending) of rank <paramref name="source"/> that rank <paramref name="queryRank"/>'s
    /// query blocks attend to (for <paramref name="source"/> = <paramref name="queryRank"/>: its own blocks it uses).</summary>
    internal ReadOnlySpan<int> Needed(int queryRank, int source) => _needed[queryRank][source];

    /// <summary>Key blocks rank <paramref name="rank"/> receives in the layout-aware exchange.</summary>
    internal long BlocksReceived(int rank)
    {
        long sum = 0;
        for (int s = 0; s < Sharding.Ranks; s++) if (s != rank) sum += _needed[rank][s].Length;
        return sum;
    }

    /// <summary>Key blocks rank <paramref name="rank"/> sends in the layout-aware exchange.</summary>
    internal long BlocksSent(int rank)
    {
        long sum = 0;
        for (int q = 0; q < Sharding.Ranks; q++) if (q != rank) sum += _needed[q][rank].Length;
        return sum;
    }

    /// <summary>Key blocks each rank receives in the ring: every other rank's whole shard.</summary>
    internal long RingBlocksReceived(int rank) => Sharding.Blocks - Sharding.BlocksOf(rank).Length;

    /// <summary>
    /// The rule between the two exchanges: layout-aware when no rank receives more than half of what the ring would bring
    /// it. The ring then loses on volume; past that point the ring's neighbour-only traffic and its bounded memory (two
    /// shards in flight, where the layout-aware exchange holds every block it receives) are worth more than the bytes saved.
    /// </summary>
    internal ExchangeMode Choose()
    {
        for (int r = 0; r < Sharding.Ranks; r++)
            if (2 * BlocksReceived(r) > RingBlocksReceived(r)) return ExchangeMode.Ring;
        return ExchangeMode.LayoutAware;
    }

    /// <summary>
    /// The layout of rank <paramref name="queryRank"/>'s local query blocks against the key blocks <paramref name="keyBlocks"/>
    /// (global, ascending; key block c of the result is keyBlocks[c]), with the causal pruning applied; null when no pair is left.
    /// </summary>
    internal BlockLayout? SubLayout(int queryRank, ReadOnlySpan<int> keyBlocks)
    {
        if (keyBlocks.IsEmpty) return null;
        var compact = new Dictionary<int, int>(keyBlocks.Length);
        for (int c = 0; c < keyBlocks.Length; c++) compact[keyBlocks[c]] = c;
        var queryBlocks = Sharding.BlocksOf(queryRank);
        int lists = Layout.LayoutCount;
        var offsets = new int[lists * (queryBlocks.Length + 1)];
        var columns = new List<int>();
        for (int l = 0; l < lists; l++)
        {
            int start = columns.Count;
            for (int r = 0; r < queryBlocks.Length; r++)
            {
                int i = queryBlocks[r];
                foreach (int j in Layout.Row(l, i))
                    if ((!Causal || j <= i) && compact.TryGetValue(j, out int c)) columns.Add(c);
                offsets[l * (queryBlocks.Length + 1) + r + 1] = columns.Count - start;
            }
        }
        return columns.Count == 0 ? null
            : BlockLayout.FromCsr(Layout.BlockSize, queryBlocks.Length, keyBlocks.Length, offsets, columns.ToArray(), lists);
    }
}
