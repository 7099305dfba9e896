namespace SparseNative;

public sealed partial class BlockLayout
{
    /// <summary>
    /// Builds a layout from CSR arrays, checking everything: the block size, non-negative row offsets that start at 0
    /// and never decrease, column indices in <c>[0, keyBlocks)</c>, strictly increasing within a row (sorted, no duplicates).
    /// </summary>
    /// <param name="blockSize">16, 32, 64 or 128.</param>
    /// <param name="queryBlocks">Rows of each list.</param>
    /// <param name="keyBlocks">Columns of each list.</param>
    /// <param name="rowOffsets"><c>layoutCount × (queryBlocks + 1)</c> offsets; each list's start at 0 and index into that list's columns.</param>
    /// <param name="columnIndices">The lists' column indices, one list after the other.</param>
    /// <param name="layoutCount">Number of lists (1 = shared by all heads).</param>
    /// <exception cref="InvalidLayoutException">The arrays are not a valid layout; the message names the argument and value.</exception>
    public static BlockLayout FromCsr(int blockSize, int queryBlocks, int keyBlocks,
        ReadOnlySpan<int> rowOffsets, ReadOnlySpan<int> columnIndices, int layoutCount = 1)
    {
        ValidateBlockSize(blockSize, nameof(blockSize));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(queryBlocks);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(keyBlocks);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(layoutCount);
        long expectedOffsets = (long)layoutCount * ((long)queryBlocks + 1); // no int overflow at queryBlocks = int.MaxValue
        if (rowOffsets.Length != expectedOffsets)
            throw new InvalidLayoutException(
                $"rowOffsets has {rowOffsets.Length} entries; {layoutCount} list(s) of {queryBlocks} query blocks need {expectedOffsets}.",
                nameof(rowOffsets));

        long consumed = 0;
        for (int l = 0; l < layoutCount; l++)
        {
            var offs = rowOffsets.Slice(l * (queryBlocks + 1), queryBlocks + 1);
            if (offs[0] != 0)
                throw new InvalidLayoutException($"rowOffsets[{l * (queryBlocks + 1)}] (start of list {l}) is {offs[0]}; it must be 0.", nameof(rowOffsets));
            for (int r = 0; r < queryBlocks; r++)
            {
                if (offs[r + 1] < offs[r])
                    throw new InvalidLayoutException(
                        $"rowOffsets of list {l} decrease at row {r}: {offs[r]} then {offs[r + 1]}.", nameof(rowOffsets));
            }
            long nnz = offs[queryBlocks];
            if (consumed + nnz > columnIndices.Length)
                throw new InvalidLayoutException(
                    $"rowOffsets of list {l} end at {nnz} but only {columnIndices.Length - consumed} column indices remain.", nameof(rowOffsets));
            var cols = columnIndices.Slice((int)consumed, (int)nnz);
            for (int r = 0; r < queryBlocks; r++)
            {
                int prev = -1;
                for (int p = offs[r]; p < offs[r + 1]; p++)
                {
                    int c = cols[p];
                    if ((uint)c >= (uint)keyBlocks)
                        throw new InvalidLayoutException(
                            $"columnIndices[{consumed + p}] = {c} (list {l}, row {r}) is outside [0, {keyBlocks}).", nameof(columnIndices));
                    if (c <= prev)
                        throw new InvalidLayoutException(
                            $"columnIndices of list {l}, row {r} are not strictly increasing: {prev} then {c} ({(c == prev ? "duplicate" : "unsorted")}).",
                            nameof(columnIndices));
                    prev = c;
                }
            }
            consumed += nnz;
        }
        if (consumed != columnIndices.Length)
            throw new InvalidLayoutException(
                $"columnIndices has {columnIndices.Length} entries but the row offsets use {consumed}.", nameof(columnIndices));
        return new BlockLayout(blockSize, queryBlocks, keyBlocks, layoutCount, rowOffsets.ToArray(), columnIndices.ToArray());
    }

    /// <summary>Builds a one-list layout from a boolean block mask <c>[queryBlocks, keyBlocks]</c>.</summary>
    public static BlockLayout FromDense(bool[,] mask, int blockSize)
    {
        ArgumentNullException.ThrowIfNull(mask);
        ValidateBlockSize(blockSize, nameof(blockSize));
        int qb = mask.GetLength(0), kb = mask.GetLength(1);
        if (qb == 0 || kb == 0)
            throw new InvalidLayoutException($"mask is {qb}×{kb}; it needs at least one block each way.", nameof(mask));
        return Build(blockSize, qb, kb, 1, (_, r, row) =>
        {
            for (int c = 0; c < kb; c++) if (mask[r, c]) row.Add(c);
        });
    }

    /// <summary>Builds a layout from a boolean block mask <c>[layoutCount, queryBlocks, keyBlocks]</c>, one list per leading index.</summary>
    public static BlockLayout FromDense(bool[,,] mask, int blockSize)
    {
        ArgumentNullException.ThrowIfNull(mask);
        ValidateBlockSize(blockSize, nameof(blockSize));
        int lc = mask.GetLength(0), qb = mask.GetLength(1), kb = mask.GetLength(2);
        if (lc == 0 || qb == 0 || kb == 0)
            throw new InvalidLayoutException($"mask is {lc}×{qb}×{kb}; every dimension must be at least 1.", nameof(mask));
        return Build(blockSize, qb, kb, lc, (l, r, row) =>
        {
            for (int c = 0; c < kb; c++) if (mask[l, r, c]) row.Add(c);
        }, nameof(mask));
    }

    /// <summary>Builds a layout from a predicate over (list, query block, key block). Costs one call per grid cell.</summary>
    public static BlockLayout FromPredicate(int blockSize, int queryBlocks, int keyBlocks, int layoutCount,
        Func<int, int, int, bool> isActive)
    {
        ArgumentNullException.ThrowIfNull(isActive);
        ValidateBlockSize(blockSize, nameof(blockSize));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(queryBlocks);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(keyBlocks);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(layoutCount);
        return Build(blockSize, queryBlocks, keyBlocks, layoutCount, (l, r, row) =>
        {
            for (int c = 0; c < keyBlocks; c++) if (isActive(l, r, c)) row.Add(c);
        });
    }

    /// <summary>The layout as a boolean mask <c>[LayoutCount, QueryBlocks, KeyBlocks]</c>.</summary>
    /// <exception cref="InvalidOperationException">The grid has more cells than one array can hold (a layout declared with a
    /// huge block count through <see cref="FromCsr"/>).</exception>
    public bool[,,] ToDense()
    {
        long cells = (long)LayoutCount * QueryBlocks * KeyBlocks; // < 2⁶³: the offsets array bounds LayoutCount × QueryBlocks
        if (cells > Array.MaxLength)
            throw new InvalidOperationException(
                $"A {LayoutCount}×{QueryBlocks}×{KeyBlocks} mask has {cells} cells, more than one array holds.");
        var mask = new bool[LayoutCount, QueryBlocks, KeyBlocks];
        for (int l = 0; l < LayoutCount; l++)
            for (int r = 0; r < QueryBlocks; r++)
                foreach (int c in Row(l, r)) mask[l, r, c] = true;
        return mask;
    }

    /// <summary>
    /// The generator behind every builder: <paramref name="fillRow"/> adds the key blocks of one (list, row) in any order,
    /// possibly with repeats and out-of-range values, which are dropped; rows are then sorted and de-duplicated.
    /// Works row by row, so a layout of 1M tokens never touches its whole block grid. <paramref name="countName"/> is the
    /// caller's parameter that set <paramref name="layoutCount"/>, named when the offsets would not fit in one array.
    /// </summary>
    internal static BlockLayout Build(int blockSize, int queryBlocks, int keyBlocks, int layoutCount,
        Action<int, int, List<int>> fillRow, string countName = "layoutCount")
    {
        long offsetCount = (long)layoutCount * ((long)queryBlocks + 1);
        if (offsetCount > Array.MaxLength)
            // One list: the row count alone is too large (FromPredicate's queryBlocks), so that is the argument to name.
            throw new ArgumentOutOfRangeException(layoutCount == 1 ? nameof(queryBlocks) : countName, layoutCount == 1 ? queryBlocks : layoutCount,
                $"{layoutCount} list(s) × ({queryBlocks} query blocks + 1) = {offsetCount} row offsets exceed the {Array.MaxLength} an array can hold.");
        var offsets = new int[offsetCount];
        var columns = new List<int>();
        var row = new List<int>();
        for (int l = 0; l < layoutCount; l++)
        {
            int listBase = columns.Count;
            for (int r = 0; r < queryBlocks; r++)
            {
                row.Clear();
                fillRow(l, r, row);
                row.Sort();
                int prev = -1;
                foreach (int c in row)
                {
                    if (c < 0 || c >= keyBlocks || c == prev) continue;
                    columns.Add(c);
                    prev = c;
                }
                offsets[l * (queryBlocks + 1) + r + 1] = columns.Count - listBase;
            }
        }
        return new BlockLayout(blockSize, queryBlocks, keyBlocks, layoutCount, offsets, columns.ToArray());
    }
}
