using Xunit;
using SparseNative.Cli.Pictures;

namespace SparseNative.Cli.Tests;

/// <summary>Layout pictures: valid PNGs of the promised size whose pixels show the layout, at small and at 128k-token sizes.</summary>
public sealed class PictureTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static readonly (byte, byte, byte) Active = (LayoutPicture.Active.R, LayoutPicture.Active.G, LayoutPicture.Active.B);
    private static readonly (byte, byte, byte) Empty = (LayoutPicture.Empty.R, LayoutPicture.Empty.G, LayoutPicture.Empty.B);

    [Fact]
    public void Block_diagonal_png_has_the_right_size_and_pixels()
    {
        string path = _dir.File("bd.png");
        var r = Cli.Run("layout", "block-diagonal", "--seq", "256", "--block", "64", "--png", path, "--cell", "10");
        Assert.True(r.ExitCode == 0, r.Err);
        var img = PngDecoder.Decode(File.ReadAllBytes(path));
        // One panel of 4 × 4 blocks at 10 px, a 1 px frame, 12 px margins.
        Assert.Equal(12 + 40 + 2 + 12, img.Width);
        Assert.Equal(12 + 40 + 2 + 12, img.Height);
        var (x0, y0) = LayoutPicture.PanelOrigin(0, 40, 40);
        for (int row = 0; row < 4; row++)
            for (int col = 0; col < 4; col++)
                Assert.Equal(row == col ? Active : Empty, img.At(x0 + col * 10 + 4, y0 + row * 10 + 4));
        Assert.Equal((255, 255, 255), ((int)img.At(0, 0).R, (int)img.At(0, 0).G, (int)img.At(0, 0).B));
    }

    [Fact]
    public void Per_head_lists_get_side_by_side_panels()
    {
        // Two hand-made lists: head 0 only block (0,0), head 1 only block (1,1).
        var layout = BlockLayout.FromPredicate(16, 2, 2, 2, (l, r, c) => r == l && c == l);
        var scale = LayoutPicture.ChooseScale(2, 8, 512);
        var image = LayoutPicture.Draw(layout, 2, scale);
        string path = _dir.File("heads.png");
        PngWriter.Save(image, path);
        var img = PngDecoder.Decode(File.ReadAllBytes(path));
        Assert.Equal(12 + 2 * (16 + 2 + 12), img.Width);
        var (ax, ay) = LayoutPicture.PanelOrigin(0, 16, 16);
        var (bx, by) = LayoutPicture.PanelOrigin(1, 16, 16);
        Assert.Equal(Active, img.At(ax + 2, ay + 2));
        Assert.Equal(Empty, img.At(ax + 10, ay + 10));
        Assert.Equal(Empty, img.At(bx + 2, by + 2));
        Assert.Equal(Active, img.At(bx + 10, by + 10));
    }

    [Fact]
    public void A_128k_token_layout_is_downsampled_with_density_shading()
    {
        string path = _dir.File("long.png");
        var r = Cli.Run("layout", "block-diagonal", "--seq", "131072", "--block", "64", "--png", path, "--no-preview");
        Assert.True(r.ExitCode == 0, r.Err);
        var img = PngDecoder.Decode(File.ReadAllBytes(path));
        // 2048 blocks squeezed into a 512 px panel: 4 × 4 blocks per pixel.
        Assert.Equal(12 + 512 + 2 + 12, img.Width);
        var (x0, y0) = LayoutPicture.PanelOrigin(0, 512, 512);
        // A diagonal pixel holds 4 active blocks of 16: density 1/4, a mid shade; off the diagonal nothing.
        var shade = LayoutPicture.Shade(0.25f);
        Assert.Equal((shade.R, shade.G, shade.B), img.At(x0 + 100, y0 + 100));
        Assert.Equal(Empty, img.At(x0 + 300, y0 + 100));
        Assert.NotEqual(Active, img.At(x0 + 100, y0 + 100));
    }

    [Fact]
    public void Density_grid_counts_partial_edge_cells_by_what_they_cover()
    {
        // 5 × 5 blocks, all active, 2 × 2 per cell: the edge cells cover 2 or 1 blocks and are still fully dense.
        var layout = BlockLayout.FromPredicate(16, 5, 5, 1, (_, _, _) => true);
        var grid = new DensityGrid(layout, 0, 2, 2);
        Assert.Equal(3, grid.Rows);
        for (int y = 0; y < 3; y++) for (int x = 0; x < 3; x++) Assert.Equal(1f, grid[y, x]);
        var half = new DensityGrid(BlockLayout.FromPredicate(16, 4, 4, 1, (_, r, c) => r == c), 0, 2, 2);
        Assert.Equal(0.5f, half[0, 0]);
        Assert.Equal(0f, half[0, 1]);
    }

    [Fact]
    public void Terminal_preview_fits_the_width_and_shades_by_density()
    {
        var layout = BlockLayout.FromPredicate(16, 300, 300, 1, (_, r, c) => r == c);
        string text = TerminalPreview.Render(layout, 0, 80);
        var lines = text.Split('\n');
        Assert.All(lines.Take(lines.Length - 1), l => Assert.True(l.TrimEnd('\r').Length <= 80, l));
        Assert.Equal(' ', TerminalPreview.ShadeChar(0));
        Assert.Equal('█', TerminalPreview.ShadeChar(1));
        Assert.Equal('░', TerminalPreview.ShadeChar(0.01f));
    }
}
