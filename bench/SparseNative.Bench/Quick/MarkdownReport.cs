using System.Globalization;
using System.Text;

namespace SparseNative.Bench.Quick;

/// <summary>
/// A table cell whose text may be computed late: "% of peak" cells are evaluated once more when the report is rendered,
/// after the peak has been re-measured at the end of the run.
/// </summary>
internal readonly record struct Cell(Func<string> Text)
{
    public static implicit operator Cell(string text) => new(() => text);
}

/// <summary>
/// Collects the report as Markdown. Each line is echoed to standard error as it is produced (progress, with the figures
/// known at that moment); <see cref="Render"/> produces the final text, in which late cells take their final values, for
/// standard output and the <c>--out</c> file.
/// </summary>
internal sealed class MarkdownReport
{
    private readonly List<Func<string>> _lines = [];

    public void Line(string line = "") => Add(() => line);

    /// <summary>A quoted note, in the report and on the console.</summary>
    public void Note(string note)
    {
        Line($"> {note}");
        Line();
    }

    public void Header(params string[] columns)
    {
        Line("| " + string.Join(" | ", columns) + " |");
        Line("|" + string.Concat(columns.Select(c => IsNumeric(c) ? " ---: |" : " --- |")));
    }

    public void Row(params Cell[] cells) => Add(() => "| " + string.Join(" | ", cells.Select(c => c.Text())) + " |");

    /// <summary>The final Markdown, every late cell evaluated now.</summary>
    public string Render()
    {
        var sb = new StringBuilder();
        foreach (var line in _lines) sb.AppendLine(line());
        return sb.ToString();
    }

    private void Add(Func<string> line)
    {
        _lines.Add(line);
        Console.Error.WriteLine(line());
    }

    // Right-align the measured columns.
    private static bool IsNumeric(string column) =>
        column.Contains("ms") || column.Contains("GFLOP") || column.Contains('%') || column.Contains('×') || column.Contains("diff") ||
        column.Contains("err") || column.Contains("pairs") || column.Contains("blocks") || column.Contains("GiB") ||
        column.Contains("MiB") || column.Contains("GB/s") || column.Contains("bandwidth") || column.Contains("ns") || column.Contains("density");

    public static string F(double v, int digits = 1) =>
        double.IsNaN(v) ? "—" : v.ToString("F" + digits, CultureInfo.InvariantCulture);

    public static string E(double v) => double.IsNaN(v) ? "—" : v.ToString("0.0e+0", CultureInfo.InvariantCulture);
}
