using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit;

namespace SparseNative.Tests.Kernels;

/// <summary>
/// Re-launches this test executable with the .NET 10 instruction-set switches (<c>DOTNET_EnableAVX512=0</c>,
/// <c>DOTNET_PreferredVectorBitWidth=256</c>, <c>DOTNET_EnableAVX2=0</c>, <c>DOTNET_EnableHWIntrinsic=0</c>) and runs
/// <see cref="IsaSwitchChildTests"/> there. The child's exit code and summary decide: every child test must run (none
/// skipped) and pass.
/// </summary>
public partial class IsaSwitchTests
{
    public static TheoryData<string> States => new(IsaExpectation.All.Where(e => e.Name != "neon").Select(e => e.Name));

    [Theory]
    [MemberData(nameof(States))]
    public async Task ChildProcessUnderSwitchesPassesTheKernelChecks(string state)
    {
        var e = IsaExpectation.All.Single(x => x.Name == state);
        if (e.CannotProduceReason() is { } why) Assert.Skip($"cannot produce state '{state}' here: {why}");
        if (IsaExpectation.FromEnvironment() is not null) Assert.Skip("already inside a child process");

        var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, RedirectStandardError = true };
        // Started as `dotnet SparseNative.Tests.dll`, the process path is the host: pass the test assembly first.
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet") psi.ArgumentList.Add(typeof(IsaSwitchTests).Assembly.Location);
        psi.ArgumentList.Add("-class");
        psi.ArgumentList.Add(typeof(IsaSwitchChildTests).FullName!);
        psi.ArgumentList.Add("-noColor");
        psi.Environment[IsaExpectation.Variable] = e.Name;
        psi.Environment.Remove("SPARSENATIVE_BACKEND");
        foreach (var (variable, value) in e.Switches) psi.Environment[variable] = value;

        using var child = Process.Start(psi)!;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(3));
        var stderr = child.StandardError.ReadToEndAsync(timeout.Token);
        string stdout = await child.StandardOutput.ReadToEndAsync(timeout.Token);
        await child.WaitForExitAsync(timeout.Token);
        string output = stdout + await stderr;

        var summary = Summary().Match(output);
        Assert.True(summary.Success, $"no test summary from the child:\n{output}");
        Assert.True(child.ExitCode == 0 && summary.Groups["failed"].Value == "0" && summary.Groups["errors"].Value == "0",
            $"child under {string.Join(' ', e.Switches.Select(s => $"{s.Variable}={s.Value}"))} failed (exit {child.ExitCode}):\n{output}");
        Assert.True(summary.Groups["skipped"].Value == "0", $"child skipped tests, so the state was not checked:\n{output}");
        Assert.True(int.Parse(summary.Groups["total"].Value) >= 3, $"child ran too few tests:\n{output}");
    }

    [GeneratedRegex(@"Total: (?<total>\d+), Errors: (?<errors>\d+), Failed: (?<failed>\d+), Skipped: (?<skipped>\d+)")]
    private static partial Regex Summary();
}
