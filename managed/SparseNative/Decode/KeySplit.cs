namespace SparseNative.Decode;

/// <summary>Cuts every row of a layout into contiguous chunks of its active key blocks (flash-decoding's split over keys).</summary>
internal static class KeySplit
{
    /// <summary>
    /// Chunk <paramref name="chunk"/> of <paramref name="chunks"/>: row <c>r</c> with <c>n</c> active blocks keeps its blocks
    /// <c>⌊n·chunk/chunks⌋ … ⌊n·(chunk+1)/chunks⌋ − 1</c>. The chunks of a row are disjoint and cover it.
    /// </summary>
    public static BlockLayout Chunk(BlockLayout layout, int chunk, int chunks) =>
        BlockLayout.Build(layout.BlockSize, layout.QueryBlocks, layout.KeyBlocks, layout.LayoutCount, (l, r, row) =>
        {
            var all = layout.Row(l, r);
            int start = (int)((long)all.Length * chunk / chunks), end = (int)((long)all.Length * (chunk + 1) / chunks);
            foreach (int c in all[start..end]) row.Add(c);
        });

    /// <summary>The most active blocks in any row of any list.</summary>
    public static int LongestRow(BlockLayout layout)
    {
        int longest = 0;
        for (int l = 0; l < layout.LayoutCount; l++)
        {
            var offsets = layout.RowOffsets(l);
            for (int r = 0; r < layout.QueryBlocks; r++) longest = Math.Max(longest, offsets[r + 1] - offsets[r]);
        }
        return longest;
    }
}
