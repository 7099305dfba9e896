using System.Diagnostics;
using Xunit;

namespace SparseNative.Cli.Tests;

/// <summary><c>info</c> into a file or pipe: plain text a bug report can quote, at most 100 columns, each fact once.</summary>
public sealed class InfoTextTests
{
    [Fact]
    public void Redirected_info_is_plain_narrow_and_says_each_fact_once()
    {
        // As a user runs it: `sparsenative info > info.txt`, through a real process with its output redirected.
        string dll = Path.Combine(AppContext.BaseDirectory, "SparseNative.Cli.dll");
        var psi = new ProcessStartInfo("dotnet", [dll, "info"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        string text = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(60_000));
        Assert.Equal(0, p.ExitCode);
        AssertPlain(text);
    }

    [Fact]
    public void In_process_output_to_a_writer_is_the_same_plain_form()
    {
        var r = Cli.Run("info");
        Assert.Equal(0, r.ExitCode);
        AssertPlain(r.Out);
    }

    private static void AssertPlain(string text)
    {
        var lines = text.Replace("\r\n", "\n").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(lines, l => Assert.True(l.Length <= 100, $"{l.Length} columns: {l}"));
        Assert.DoesNotContain('│', text);
        Assert.DoesNotContain('─', text);
        Assert.DoesNotContain('\u001b', text); // no ANSI escapes
        // Each fact once: the version line, each backend, the Auto order, the override variable.
        Assert.Single(lines, l => l.StartsWith("SparseNative ", StringComparison.Ordinal));
        Assert.Single(lines, l => l.StartsWith("Backends:", StringComparison.Ordinal));
        Assert.Single(lines, l => l.StartsWith("Auto tries", StringComparison.Ordinal));
        Assert.Single(lines, l => l.StartsWith("SPARSENATIVE_BACKEND", StringComparison.Ordinal));
        Assert.Single(lines, l => l.StartsWith("Auto picks", StringComparison.Ordinal));
        foreach (var b in SparseAttention.Backends)
        {
            Assert.Single(lines, l => l.StartsWith($"  {b.Backend}: ", StringComparison.Ordinal));
            Assert.Contains($"  {b.Backend}: {(b.IsAvailable ? "available" : "unavailable")}: ", text);
        }
    }
}
