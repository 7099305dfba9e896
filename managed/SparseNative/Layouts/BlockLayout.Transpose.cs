namespace SparseNative;

public sealed partial class BlockLayout
{
    // The transpose (CSC) of every list, built on first use and kept: the backward pass walks, for each key block, the
    // query blocks that attend it. A layout is immutable, so the transpose never goes stale.
    private Transposed? _transposed;

    private sealed class Transposed
    {
        public required int[] ColumnOffsets; // LayoutCount × (KeyBlocks + 1); each list's offsets start at 0
        public required int[] Rows;          // every list's row indices, one list after the other
        public required int[] ListStart;     // LayoutCount + 1
    }

    /// <summary>
    /// The query blocks of list <paramref name="list"/> that attend key block <paramref name="keyBlock"/>, ascending: the
    /// column of the layout. The first call builds the transpose of every list (O(active blocks)); later calls are free.
    /// Thread-safe.
    /// </summary>
    public ReadOnlySpan<int> Column(int list, int keyBlock)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(list);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(list, LayoutCount);
        ArgumentOutOfRangeException.ThrowIfNegative(keyBlock);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(keyBlock, KeyBlocks);
        // Two threads may both build it; either result is the same and one is kept.
        var t = _transposed ?? Interlocked.CompareExchange(ref _transposed, Transpose(), null) ?? _transposed!;
        int o = list * (KeyBlocks + 1) + keyBlock;
        return t.Rows.AsSpan(t.ListStart[list] + t.ColumnOffsets[o], t.ColumnOffsets[o + 1] - t.ColumnOffsets[o]);
    }

    private Transposed Transpose()
    {
        var offsets = new int[LayoutCount * (KeyBlocks + 1)];
        var rows = new int[_columns.Length];
        var listStart = new int[LayoutCount + 1];
        for (int l = 0; l < LayoutCount; l++)
        {
            var off = offsets.AsSpan(l * (KeyBlocks + 1), KeyBlocks + 1);
            foreach (int c in ColumnIndices(l)) off[c + 1]++;
            for (int c = 0; c < KeyBlocks; c++) off[c + 1] += off[c];
            listStart[l + 1] = listStart[l] + off[KeyBlocks];
            // Rows are visited in ascending order, so each column comes out ascending.
            var next = off[..KeyBlocks].ToArray();
            var dst = rows.AsSpan(listStart[l]);
            for (int r = 0; r < QueryBlocks; r++)
                foreach (int c in Row(l, r)) dst[next[c]++] = r;
        }
        return new Transposed { ColumnOffsets = offsets, Rows = rows, ListStart = listStart };
    }
}
