using System.CommandLine;
using System.Text.RegularExpressions;

namespace SparseNative.Cli.Hosting;

/// <summary>The parser's errors as the one <c>error:</c> line docs/CLI.md promises, without .NET type names.</summary>
internal static partial class ParseErrorText
{
    public static string Of(ParseResult parsed)
    {
        var messages = parsed.Errors.Select(e => Friendly(e.Message)).Distinct();
        var command = parsed.CommandResult.Command;
        string help = command.Parents.Any() ? $"sparsenative {command.Name} --help" : "sparsenative --help";
        return $"{string.Join(" ", messages)} (see '{help}')";
    }

    // "Cannot parse argument 'abc' for option '--seq' as expected type 'System.Nullable`1[System.Int32]'."
    internal static string Friendly(string message)
    {
        var m = CannotParse().Match(message);
        if (!m.Success) return CliVocabulary.OneLine(message);
        string type = m.Groups["type"].Value;
        string what = type.Contains("Int32") ? "an integer"
            : type.Contains("Single") || type.Contains("Double") ? "a number"
            : type.Contains("Boolean") ? "true or false"
            : "a valid value";
        return $"{m.Groups["option"].Value}: '{m.Groups["value"].Value}' is not {what}.";
    }

    [GeneratedRegex(@"^Cannot parse argument '(?<value>.*)' for option '(?<option>[^']+)' as expected type '(?<type>[^']+)'\.?$", RegexOptions.Singleline)]
    private static partial Regex CannotParse();
}
