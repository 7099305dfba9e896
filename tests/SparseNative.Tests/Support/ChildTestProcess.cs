using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit;

namespace SparseNative.Tests;

/// <summary>
/// Re-launches this test executable to run one test class under a different process-wide state (runtime ISA switches, a
/// native library path), and checks the child's xunit summary: exit code 0, nothing failed, nothing skipped.
/// </summary>
internal static partial class ChildTestProcess
{
    /// <summary>Runs <paramref name="childClass"/> in a child with <paramref name="environment"/> (null value = removed).</summary>
    /// <param name="description">Says what the child runs under, for failure messages.</param>
    /// <param name="minimumTests">The child must run at least this many tests.</param>
    public static async Task RunAndRequirePass(Type childClass, IReadOnlyDictionary<string, string?> environment,
        string description, TimeSpan timeout, int minimumTests = 1)
    {
        var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, RedirectStandardError = true };
        // Started as `dotnet SparseNative.Tests.dll`, the process path is the host: pass the test assembly first.
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet") psi.ArgumentList.Add(childClass.Assembly.Location);
        psi.ArgumentList.Add("-class");
        psi.ArgumentList.Add(childClass.FullName!);
        psi.ArgumentList.Add("-noColor");
        psi.Environment.Remove("SPARSENATIVE_BACKEND");
        foreach (var (name, value) in environment)
        {
            if (value is null) psi.Environment.Remove(name);
            else psi.Environment[name] = value;
        }

        using var child = Process.Start(psi)!;
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cancel.CancelAfter(timeout);
        var stderr = child.StandardError.ReadToEndAsync(cancel.Token);
        string output = await child.StandardOutput.ReadToEndAsync(cancel.Token);
        await child.WaitForExitAsync(cancel.Token);
        output += await stderr;

        var summary = Summary().Match(output);
        Assert.True(summary.Success, $"no test summary from the child ({description}):\n{output}");
        Assert.True(child.ExitCode == 0 && summary.Groups["failed"].Value == "0" && summary.Groups["errors"].Value == "0",
            $"child ({description}) failed (exit {child.ExitCode}):\n{output}");
        Assert.True(summary.Groups["skipped"].Value == "0", $"child ({description}) skipped tests, so its state was not checked:\n{output}");
        Assert.True(int.Parse(summary.Groups["total"].Value) >= minimumTests, $"child ({description}) ran too few tests:\n{output}");
    }

    [GeneratedRegex(@"Total: (?<total>\d+), Errors: (?<errors>\d+), Failed: (?<failed>\d+), Skipped: (?<skipped>\d+)")]
    private static partial Regex Summary();
}
