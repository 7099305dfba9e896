using Xunit;

namespace SparseNative.Tests;

/// <summary>Checks a layout cell by cell against a formula on the dense block grid, and draws layouts as text.</summary>
internal static class PatternsGrid
{
    /// <summary>Lengths that exercise a partial last block, exact multiples and one-block sequences, for block 16.</summary>
    public static readonly int[] Lengths = [1, 15, 16, 17, 48, 100, 161, 256, 333];

    /// <summary>
    /// Asserts the layout has <paramref name="lists"/> lists of <paramref name="qb"/> × <paramref name="kb"/> blocks and that
    /// every cell (list, row, column) is active exactly when <paramref name="expected"/> says so.
    /// </summary>
    public static void AssertMatches(BlockLayout layout, int lists, int qb, int kb, Func<int, int, int, bool> expected, string what)
    {
        Assert.Equal(lists, layout.LayoutCount);
        Assert.Equal(qb, layout.QueryBlocks);
        Assert.Equal(kb, layout.KeyBlocks);
        var dense = layout.ToDense();
        for (int l = 0; l < lists; l++)
            for (int r = 0; r < qb; r++)
                for (int c = 0; c < kb; c++)
                {
                    bool want = expected(l, r, c);
                    if (dense[l, r, c] != want)
                        Assert.Fail($"{what}: list {l}, block ({r}, {c}) is {(dense[l, r, c] ? "active" : "inactive")} but the definition says {(want ? "active" : "inactive")}.\n{Draw(layout, l)}");
                }
    }

    /// <summary>Asserts one list equals a hand-drawn picture ('#' active, '.' inactive; one string per row).</summary>
    public static void AssertPicture(BlockLayout layout, int list, params string[] rows)
    {
        Assert.Equal(rows.Length, layout.QueryBlocks);
        Assert.Equal(string.Join('\n', rows), Draw(layout, list));
    }

    /// <summary>One list as text: a row per query block, '#' where the key block is active.</summary>
    public static string Draw(BlockLayout layout, int list)
    {
        var lines = new string[layout.QueryBlocks];
        for (int r = 0; r < layout.QueryBlocks; r++)
        {
            var chars = new char[layout.KeyBlocks];
            Array.Fill(chars, '.');
            foreach (int c in layout.Row(list, r)) chars[c] = '#';
            lines[r] = new string(chars);
        }
        return string.Join('\n', lines);
    }

    public static int Blocks(int length, int blockSize) => (length + blockSize - 1) / blockSize;
}
