using System.Text.RegularExpressions;

namespace SparseNative.Cli.Hosting;

/// <summary>
/// Rewrites the library's exception messages in the command line's words: a parameter such as <c>windowBlocks</c> becomes
/// the option that sets it (<c>--window</c>), and a message that names no option is prefixed with the one it is about.
/// The library names its parameters for C# callers; a CLI user only knows the options.
/// </summary>
internal static partial class CliVocabulary
{
    // Library parameter and property names → what the CLI user calls them. "Anywhere" names are distinctive identifiers,
    // replaced wherever they appear; plain words (heads, dilation, K) only where a message starts "K must …" or "heads = …".
    private static readonly (string Name, string Cli, bool Anywhere)[] Terms =
    [
        ("windowBlocks", "--window", true),
        ("spanBlocks", "--span", true),
        ("dilation", "--dilation", false),
        ("localBlocks", "--local", true),
        ("verticalStride", "--stride", true),
        ("numLayouts", "--layouts", true),
        ("numLocalBlocks", "--num-local", true),
        ("numGlobalBlocks", "--num-global", true),
        ("numDifferentGlobalPatterns", "--different-global", true),
        ("numRandomBlocks", "--random-blocks", true),
        ("numSlidingWindowBlocks", "--sliding", true),
        ("localWindowBlocks", "--local-windows", true),
        ("globalBlockIndices", "--global", true),
        ("globalBlockEndIndices", "--global-end", true),
        ("blockSize", "--block", true),
        ("heads", "--heads", false),
        ("K", "--top-k", false),
        ("MassThreshold", "--mass", true),
        ("KeepFirstBlocks", "--keep-first", true),
        ("KeepLocalWindow", "--keep-window", true),
        ("MaxThreads", "--threads", true),
        ("Scale", "--scale", false),
        ("blockRowIndices", "block_row_indices", true),
        ("blockColIndices", "block_col_indices", true),
        ("sequenceLength", "the sequence length", true),
        ("queryLength", "the query length", true),
        ("keyLength", "the key length", true),
        ("QueryHeads", "query heads", true),
        ("KeyValueHeads", "key/value heads", true),
        ("QueryLength", "query length", true),
        ("KeyLength", "key length", true),
        ("HeadDim", "head dimension", true),
    ];

    private static readonly Dictionary<string, string> ByName = Terms.ToDictionary(t => t.Name, t => t.Cli);

    private static readonly Regex Identifiers = new(
        @"(?<![\w-])(" + string.Join("|", Terms.Where(t => t.Anywhere).Select(t => t.Name).OrderByDescending(n => n.Length)) + @")(?!\w)",
        RegexOptions.CultureInvariant);

    /// <summary>The message in CLI words; <paramref name="paramName"/> is the exception's parameter (a library name or an option).</summary>
    public static string Translate(string message, string? paramName)
    {
        string m = Identifiers.Replace(message, x => ByName[x.Value]);
        // "sequenceLength = …" became "the sequence length = …": a sentence again.
        if (Identifiers.Match(message) is { Success: true, Index: 0 } first && ByName[first.Value].StartsWith("the ", StringComparison.Ordinal))
            m = "T" + m[1..];
        foreach (var (name, cli, anywhere) in Terms)
            if (!anywhere && (m.StartsWith(name + " must ", StringComparison.Ordinal) || m.StartsWith(name + " = ", StringComparison.Ordinal)))
                m = cli + m[name.Length..];
        // A message that names no option gets the option it is about, when there is one.
        string? option = paramName is null ? null
            : paramName.StartsWith("--", StringComparison.Ordinal) && !paramName.Contains('/') ? paramName
            : ByName.TryGetValue(paramName, out var o) && o.StartsWith("--", StringComparison.Ordinal) ? o
            : null;
        if (option is not null && !m.Contains("--", StringComparison.Ordinal)) m = $"{option}: {m}";
        return m;
    }

    /// <summary>One line: line breaks (and the indentation after them) become "; ".</summary>
    public static string OneLine(string message) => LineBreaks().Replace(message.Trim(), "; ");

    [GeneratedRegex(@"\s*\r?\n\s*")]
    private static partial Regex LineBreaks();
}
