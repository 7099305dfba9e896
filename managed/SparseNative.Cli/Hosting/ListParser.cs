using System.Globalization;

namespace SparseNative.Cli.Hosting;

/// <summary>Parses comma-separated integer lists such as <c>1024,4096</c> or <c>1,8,4096,64</c>.</summary>
internal static class ListParser
{
    /// <exception cref="ArgumentException">An item is not an integer, or is not positive when <paramref name="positive"/>.</exception>
    public static int[] Ints(string text, string option, bool positive = false)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0) throw new ArgumentException($"{option} needs a comma-separated list of integers, got '{text}'.", option);
        var result = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out result[i]))
                throw new ArgumentException($"{option}: '{parts[i]}' is not an integer (in '{text}').", option);
            if (positive && result[i] <= 0)
                throw new ArgumentException($"{option}: {result[i]} must be positive (in '{text}').", option);
        }
        return result;
    }

    public static int[]? IntsOrNull(string? text, string option) => text is null ? null : Ints(text, option);
}
