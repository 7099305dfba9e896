using System.Text;

namespace SparseNative.Cli.Pictures;

/// <summary>
/// A text picture of one layout list for the terminal: each character covers a cell of blocks (twice as many rows as
/// columns, since a character is about twice as tall as wide) and its shade is the cell's density.
/// </summary>
internal static class TerminalPreview
{
    private static readonly char[] Shades = [' ', '░', '▒', '▓', '█'];

    /// <summary>Renders list <paramref name="list"/> in at most <paramref name="width"/> columns (the frame included).</summary>
    public static string Render(BlockLayout layout, int list, int width)
    {
        int inner = Math.Max(8, width - 2);
        int colsPer = (layout.KeyBlocks + inner - 1) / inner;
        // Keep cells square on screen: a character covers 2 × colsPer query blocks; for small grids, one block per row.
        int rowsPer = colsPer == 1 && layout.QueryBlocks <= 48 ? 1 : 2 * colsPer;
        var grid = new DensityGrid(layout, list, rowsPer, colsPer);
        var sb = new StringBuilder();
        sb.Append('┌').Append('─', grid.Cols).Append('┐').AppendLine();
        for (int y = 0; y < grid.Rows; y++)
        {
            sb.Append('│');
            for (int x = 0; x < grid.Cols; x++) sb.Append(ShadeChar(grid[y, x]));
            sb.Append('│').AppendLine();
        }
        sb.Append('└').Append('─', grid.Cols).Append('┘').AppendLine();
        sb.Append($"one character = {rowsPer} query block(s) × {colsPer} key block(s); shade = fraction active ( ░▒▓█ )");
        return sb.ToString();
    }

    /// <summary>The character for a density: blank only when nothing is active, full block only when everything is.</summary>
    public static char ShadeChar(float density) => density switch
    {
        <= 0 => Shades[0],
        >= 1 => Shades[4],
        < 1f / 3 => Shades[1],
        < 2f / 3 => Shades[2],
        _ => Shades[3],
    };
}
