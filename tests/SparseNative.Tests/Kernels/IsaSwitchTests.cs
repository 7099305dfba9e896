using Xunit;

namespace SparseNative.Tests.Kernels;

/// <summary>
/// Re-launches this test executable with the .NET 10 instruction-set switches (<c>DOTNET_EnableAVX512=0</c>,
/// <c>DOTNET_PreferredVectorBitWidth=256</c>, <c>DOTNET_EnableAVX2=0</c>, <c>DOTNET_EnableHWIntrinsic=0</c>) and runs
/// <see cref="IsaSwitchChildTests"/> there. The child's exit code and summary decide: every child test must run (none
/// skipped) and pass.
/// </summary>
public class IsaSwitchTests
{
    public static TheoryData<string> States => new(IsaExpectation.All.Where(e => e.Name != "neon").Select(e => e.Name));

    [Theory]
    [MemberData(nameof(States))]
    public async Task ChildProcessUnderSwitchesPassesTheKernelChecks(string state)
    {
        var e = IsaExpectation.All.Single(x => x.Name == state);
        if (e.CannotProduceReason() is { } why) Assert.Skip($"cannot produce state '{state}' here: {why}");
        if (IsaExpectation.FromEnvironment() is not null) Assert.Skip("already inside a child process");

        var environment = new Dictionary<string, string?> { [IsaExpectation.Variable] = e.Name };
        foreach (var (variable, value) in e.Switches) environment[variable] = value;
        await ChildTestProcess.RunAndRequirePass(typeof(IsaSwitchChildTests), environment,
            string.Join(' ', e.Switches.Select(s => $"{s.Variable}={s.Value}")), TimeSpan.FromMinutes(3), minimumTests: 3);
    }
}
