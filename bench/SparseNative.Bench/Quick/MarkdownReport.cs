using System.Globalization;
using System.Text;

namespace SparseNative.Bench.Quick;

/// <summary>Collects the report as Markdown and echoes each finished line to the console as it comes.</summary>
internal sealed class MarkdownReport
{
    private readonly StringBuilder _text = new();

    public void Line(string line = "")
    {
        _text.AppendLine(line);
        Console.WriteLine(line);
        Console.Out.Flush();
    }

    /// <summary>A note for the console only (progress, skips), kept out of the table text unless <paramref name="alsoInReport"/>.</summary>
    public void Note(string note, bool alsoInReport = true)
    {
        if (alsoInReport) _text.AppendLine($"> {note}").AppendLine();
        Console.WriteLine($"> {note}");
    }

    public void Header(params string[] columns)
    {
        Line("| " + string.Join(" | ", columns) + " |");
        Line("|" + string.Concat(columns.Select(c => IsNumeric(c) ? " ---: |" : " --- |")));
    }

    public void Row(params string[] cells) => Line("| " + string.Join(" | ", cells) + " |");

    public override string ToString() => _text.ToString();

    // Right-align the measured columns.
    private static bool IsNumeric(string column) =>
        column.Contains("ms") || column.Contains("GFLOP") || column.Contains('%') || column.Contains('×') || column.Contains("diff") ||
        column.Contains("err") || column.Contains("pairs") || column.Contains("blocks") || column.Contains("GiB") || column.Contains("MiB") || column.Contains("ns");

    public static string F(double v, int digits = 1) =>
        double.IsNaN(v) ? "—" : v.ToString("F" + digits, CultureInfo.InvariantCulture);

    public static string E(double v) => double.IsNaN(v) ? "—" : v.ToString("0.0e+0", CultureInfo.InvariantCulture);
}
