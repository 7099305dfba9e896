namespace SparseNative.Cli.Pictures;

/// <summary>
/// Draws a layout as a PNG-ready image: one panel per distinct list (per head), side by side and wrapped into rows, each
/// a square pixel cell per block; when the grid is larger than the panel, several blocks share a pixel and its shade is their
/// density. Key blocks run left to right, query blocks top to bottom (row 0 = first query block), as in the papers.
/// </summary>
internal static class LayoutPicture
{
    public static readonly Rgb Background = new(255, 255, 255);
    public static readonly Rgb Empty = new(242, 244, 248);
    public static readonly Rgb Active = new(24, 62, 140);
    public static readonly Rgb Frame = new(190, 190, 200);
    private const int Gap = 12, PanelsPerRow = 4;

    /// <summary>How one panel is scaled.</summary>
    /// <param name="PixelsPerCell">Pixel side of one cell (≥ 1).</param>
    /// <param name="BlocksPerCell">Blocks along each axis that one cell covers (1 = no downsampling).</param>
    public readonly record struct Scale(int PixelsPerCell, int BlocksPerCell);

    /// <summary>
    /// The scale for a grid of <paramref name="blocks"/> blocks: <paramref name="cellPixels"/> if given (downsampling only when
    /// the panel would exceed <paramref name="maxPanel"/>), else as large as fits <paramref name="maxPanel"/> up to 16 px a block.
    /// </summary>
    public static Scale ChooseScale(int blocks, int? cellPixels, int maxPanel)
    {
        if (cellPixels is { } c)
        {
            if (c < 1) throw new ArgumentOutOfRangeException("--cell", c, "The cell size must be at least 1 pixel.");
            if ((long)blocks * c <= Math.Max(maxPanel, c)) return new Scale(c, 1);
            int per = (int)Math.Ceiling(blocks * (double)c / maxPanel);
            return new Scale(c, per);
        }
        if (blocks <= maxPanel) return new Scale(Math.Clamp(maxPanel / blocks, 1, 16), 1);
        return new Scale(1, (blocks + maxPanel - 1) / maxPanel);
    }

    /// <summary>Draws lists 0 … <paramref name="panels"/>−1 of the layout.</summary>
    public static RgbImage Draw(BlockLayout layout, int panels, Scale scale)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(panels);
        panels = Math.Min(panels, layout.LayoutCount);
        var grids = new DensityGrid[panels];
        for (int l = 0; l < panels; l++) grids[l] = new DensityGrid(layout, l, scale.BlocksPerCell, scale.BlocksPerCell);
        int pw = grids[0].Cols * scale.PixelsPerCell, ph = grids[0].Rows * scale.PixelsPerCell;
        int across = Math.Min(panels, PanelsPerRow), down = (panels + PanelsPerRow - 1) / PanelsPerRow;
        // One pixel of frame around each panel, a gap between panels and around the picture.
        int width = Gap + across * (pw + 2 + Gap), height = Gap + down * (ph + 2 + Gap);
        var image = new RgbImage(width, height, Background);
        for (int l = 0; l < panels; l++)
        {
            int x0 = Gap + l % PanelsPerRow * (pw + 2 + Gap), y0 = Gap + l / PanelsPerRow * (ph + 2 + Gap);
            image.Fill(x0, y0, pw + 2, ph + 2, Frame);
            DrawPanel(image, grids[l], x0 + 1, y0 + 1, scale.PixelsPerCell);
        }
        return image;
    }

    /// <summary>The pixel origin (top-left inside the frame) of a panel, for tests and callers that annotate.</summary>
    public static (int X, int Y) PanelOrigin(int panel, int panelWidth, int panelHeight) =>
        (Gap + panel % PanelsPerRow * (panelWidth + 2 + Gap) + 1, Gap + panel / PanelsPerRow * (panelHeight + 2 + Gap) + 1);

    /// <summary>The colour of a cell of this density: empty cells are light grey; any active block tints the cell visibly.</summary>
    public static Rgb Shade(float density) => density <= 0 ? Empty : Rgb.Lerp(Empty, Active, 0.4 + 0.6 * density);

    private static void DrawPanel(RgbImage image, DensityGrid grid, int x0, int y0, int px)
    {
        // From 6 px a block on, a one-pixel white seam separates blocks, so neighbouring active blocks stay countable.
        int fill = px >= 6 ? px - 1 : px;
        image.Fill(x0, y0, grid.Cols * px, grid.Rows * px, px >= 6 ? Background : Empty);
        for (int y = 0; y < grid.Rows; y++)
            for (int x = 0; x < grid.Cols; x++)
                image.Fill(x0 + x * px, y0 + y * px, fill, fill, Shade(grid[y, x]));
    }
}
