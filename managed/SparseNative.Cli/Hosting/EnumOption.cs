using System.CommandLine;

namespace SparseNative.Cli.Hosting;

/// <summary>Options whose values are enum names, matched case-insensitively (<c>--format BSHD</c> = <c>bshd</c>); numbers are not names.</summary>
internal static class EnumOption
{
    /// <summary>The names as the help text and error messages list them.</summary>
    public static string Names<T>() where T : struct, Enum => string.Join(", ", Enum.GetNames<T>().Select(n => n.ToLowerInvariant()));

    /// <exception cref="ArgumentException"><paramref name="text"/> is not one of the names.</exception>
    public static T Parse<T>(string text, string option) where T : struct, Enum =>
        TryParse<T>(text, out var value)
            ? value
            : throw new ArgumentException($"{option} '{text}' is not one of {Names<T>()}.", option);

    /// <summary>An option parsed by <see cref="Parse{T}"/> at parse time, so a bad value is a usage error (exit 2).</summary>
    public static Option<T> Create<T>(string name, string description, T defaultValue) where T : struct, Enum => new(name)
    {
        Description = description,
        HelpName = string.Join("|", Enum.GetNames<T>().Select(n => n.ToLowerInvariant())),
        DefaultValueFactory = _ => defaultValue,
        CustomParser = a =>
        {
            string text = a.Tokens.Count > 0 ? a.Tokens[0].Value : "";
            if (TryParse<T>(text, out var value)) return value;
            a.AddError($"{name} '{text}' is not one of {Names<T>()}.");
            return defaultValue;
        },
    };

    private static bool TryParse<T>(string text, out T value) where T : struct, Enum
    {
        string t = text.Trim();
        value = default;
        if (t.Length == 0 || !char.IsLetter(t[0])) return false;
        return Enum.TryParse(t, ignoreCase: true, out value) && Enum.IsDefined(value);
    }
}
