namespace SparseNative.Cli.Pictures;

/// <summary>
/// One layout list reduced to a coarser grid: each cell covers <see cref="RowsPerCell"/> × <see cref="ColsPerCell"/> blocks and
/// holds the fraction of them that are active. With one block per cell this is the layout itself. Built from the CSR rows in
/// O(active blocks), so a 128k-token layout (2048 × 2048 blocks) costs nothing to draw.
/// </summary>
internal sealed class DensityGrid
{
    private readonly float[] _density;

    public DensityGrid(BlockLayout layout, int list, int rowsPerCell, int colsPerCell)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rowsPerCell);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(colsPerCell);
        RowsPerCell = rowsPerCell;
        ColsPerCell = colsPerCell;
        Rows = (layout.QueryBlocks + rowsPerCell - 1) / rowsPerCell;
        Cols = (layout.KeyBlocks + colsPerCell - 1) / colsPerCell;
        var counts = new int[Rows * Cols];
        for (int r = 0; r < layout.QueryBlocks; r++)
        {
            int rowBase = r / rowsPerCell * Cols;
            foreach (int c in layout.Row(list, r)) counts[rowBase + c / colsPerCell]++;
        }
        _density = new float[counts.Length];
        for (int y = 0; y < Rows; y++)
        {
            // Edge cells cover fewer blocks; divide by what they really cover so a full edge cell is 1, not less.
            int h = Math.Min(rowsPerCell, layout.QueryBlocks - y * rowsPerCell);
            for (int x = 0; x < Cols; x++)
            {
                int w = Math.Min(colsPerCell, layout.KeyBlocks - x * colsPerCell);
                _density[y * Cols + x] = counts[y * Cols + x] / (float)(h * w);
            }
        }
    }

    public int Rows { get; }
    public int Cols { get; }
    public int RowsPerCell { get; }
    public int ColsPerCell { get; }

    /// <summary>Fraction of the cell's blocks that are active, in [0, 1].</summary>
    public float this[int row, int col] => _density[row * Cols + col];
}
