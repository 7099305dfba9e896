using System.Text.Json;
using Xunit;

namespace SparseNative.Cli.Tests;

/// <summary>A failed <c>--check</c> says what failed and by how much, on one line, and exits 3.</summary>
public sealed class CheckFailureTests
{
    [Fact]
    public void Run_check_above_tolerance_says_what_by_how_much_and_where()
    {
        var r = Cli.Run("run", "dense", "--random-inputs", "1,2,64,8", "--block", "16", "--check", "--tolerance", "1e-9", "--runs", "1", "--json");
        Assert.Equal(3, r.ExitCode);
        var check = JsonDocument.Parse(r.Out).RootElement.GetProperty("check");
        double rel = check.GetProperty("relativeError").GetDouble(), max = check.GetProperty("maxAbsError").GetDouble();
        Assert.True(rel > 1e-9, $"the float32 result should differ from the float64 reference: {rel}");
        var at = check.GetProperty("maxAbsErrorAt");
        string where = $"batch {at.GetProperty("batch").GetInt32()}, head {at.GetProperty("head").GetInt32()}, " +
            $"token {at.GetProperty("token").GetInt32()}, feature {at.GetProperty("feature").GetInt32()}";
        var line = Assert.Single(r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"check failed: relative error {rel:G3} exceeds --tolerance 1E-09", line);
        Assert.Contains($"max |O − O_ref| {max:G3} at {where}", line);
        Assert.Contains("over all query blocks", line);
    }

    [Fact]
    public void Run_check_within_tolerance_prints_nothing_on_stderr()
    {
        var r = Cli.Run("run", "dense", "--random-inputs", "1,2,64,8", "--block", "16", "--check", "--runs", "1");
        Assert.Equal(0, r.ExitCode);
        Assert.Empty(r.Err);
    }

    [Fact]
    public void Demo_check_above_tolerance_says_so_too()
    {
        var r = Cli.Run("demo", "--seq", "256", "--heads", "1", "--head-dim", "8", "--runs", "1", "--check-blocks", "2", "--tolerance", "1e-12", "--block", "16");
        Assert.Equal(3, r.ExitCode);
        Assert.StartsWith("check failed: relative error", r.Err);
        Assert.Contains("exceeds --tolerance 1E-12", r.Err);
    }
}
