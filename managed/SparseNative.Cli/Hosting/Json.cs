using System.Text.Json;
using System.Text.Json.Serialization;

namespace SparseNative.Cli.Hosting;

/// <summary>The one JSON style of every <c>--json</c> output: camelCase names, indented, enums as strings, non-finite numbers as strings.</summary>
internal static class Json
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
    };

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);
}
