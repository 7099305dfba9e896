using Xunit;

namespace SparseNative.Tests.Reliability;

/// <summary>Starts <see cref="FirstUseChildTests"/> in fresh processes, so that its calls really are the first ones.</summary>
public class FirstUseTests
{
    [Theory]
    [InlineData("plain")]
    [InlineData("autotune")]
    public async Task TheFirstCallsFromManyThreadsInitialiseOnce(string mode) =>
        await ChildTestProcess.RunAndRequirePass(typeof(FirstUseChildTests),
            new Dictionary<string, string?> { [FirstUseChildTests.Variable] = mode, ["SPARSENATIVE_AUTOTUNE"] = null },
            $"first use, {mode}", TimeSpan.FromMinutes(2));
}
