namespace SparseNative.Selection;

/// <summary>
/// Where the blocks of one shape lie relative to each other: the causal limit and the keep-set of each query block.
/// Shared by every selection so that "diagonal", "window" and "causally possible" mean one thing.
/// </summary>
internal readonly struct BlockGeometry
{
    public readonly int BlockSize, QueryLength, KeyLength, QueryBlocks, KeyBlocks;

    /// <summary><c>KeyLength − QueryLength</c>: query <c>i</c> is aligned with key <c>i + Offset</c> (bottom-right).</summary>
    public int Offset => KeyLength - QueryLength;

    public BlockGeometry(AttentionShape shape, int blockSize)
    {
        BlockSize = blockSize;
        QueryLength = shape.QueryLength;
        KeyLength = shape.KeyLength;
        QueryBlocks = shape.QueryBlocks(blockSize);
        KeyBlocks = shape.KeyBlocks(blockSize);
    }

    /// <summary>Key blocks <c>0 … n−1</c> that query block <paramref name="r"/> may use: all, or under causality those whose
    /// first key <c>c·bs ≤ (last query of the block) + Offset</c>.</summary>
    public int CandidateCount(int r, bool causal)
    {
        if (!causal) return KeyBlocks;
        long lastKey = (long)Math.Min((r + 1) * BlockSize, QueryLength) - 1 + Offset;
        if (lastKey < 0) return 0;
        return (int)Math.Min(KeyBlocks, lastKey / BlockSize + 1);
    }

    /// <summary>The first and last key block of query block <paramref name="r"/>'s diagonal (aligned keys clamped into the sequence).</summary>
    public (int First, int Last) Diagonal(int r)
    {
        long first = (long)r * BlockSize + Offset;
        long last = (long)Math.Min((r + 1) * BlockSize, QueryLength) - 1 + Offset;
        first = Math.Clamp(first, 0, KeyLength - 1);
        last = Math.Clamp(last, 0, KeyLength - 1);
        return ((int)(first / BlockSize), (int)(last / BlockSize));
    }

    /// <summary>Marks query block <paramref name="r"/>'s keep-set among its <paramref name="candidates"/> first key blocks.</summary>
    public void MarkKeepSet(int r, BlockSelectionOptions o, int candidates, Span<bool> keep)
    {
        for (int c = 0; c < Math.Min(o.KeepFirstBlocks, candidates); c++) keep[c] = true;
        if (!o.KeepDiagonal && o.KeepLocalWindow == 0) return;
        var (first, last) = Diagonal(r);
        int w = o.KeepLocalWindow;
        // In long arithmetic: a window near int.MaxValue means "every block", not an overflowed, empty range.
        int lo = (int)Math.Max(0L, (long)first - w), hi = (int)Math.Min(candidates - 1L, (long)last + w);
        for (int c = lo; c <= hi; c++) keep[c] = true;
    }
}
