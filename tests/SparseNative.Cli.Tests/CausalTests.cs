using System.Text.Json;
using Xunit;

namespace SparseNative.Cli.Tests;

/// <summary>
/// Whether a run is causal: <c>--causal</c> forces the token-level mask on any pattern, a causal pattern asks for it by itself
/// (once <c>BlockLayout.IsCausal</c> exists), and <c>run</c> and <c>bench</c> say which it was.
/// </summary>
public sealed class CausalTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void The_causal_option_forces_the_mask_on_a_non_causal_pattern() =>
        // The same as the library with Causal = true on the same data and layout.
        RunMatchesCausalReference(["bigbird", "--causal"], 300, BlockPatterns.BigBird(300, 16, heads: 2), "yes (--causal)");

    [Theory]
    [InlineData("dense", false, "Causal:  no")]
    [InlineData("dense", true, "Causal:  yes (--causal)")]
    public void Run_prints_whether_it_was_causal(string pattern, bool causal, string expected)
    {
        var args = new List<string> { "run", pattern, "--random-inputs", "1,1,64,8", "--block", "16", "--runs", "1", "--warmup", "0" };
        if (causal) args.Add("--causal");
        var r = Cli.Run(args.ToArray());
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Contains(expected, r.Out);
    }

    [Fact]
    public void Run_causal_without_the_causal_option_is_causal_attention() =>
        // The footgun of issue 19: `run causal` without --causal let queries see later tokens inside their own block.
        RunMatchesCausalReference(["causal"], 200, BlockPatterns.Dense(200, 16), "yes (the layout is causal)");

    // Runs the CLI on seeded inputs (2 heads, d 8, block 16) and compares O with the causal float64 reference on `layout`.
    private void RunMatchesCausalReference(string[] patternArgs, int tokens, BlockLayout layout, string causalBy)
    {
        string o = _dir.File("o.npy");
        var r = Cli.Run(["run", .. patternArgs, "--random-inputs", $"1,2,{tokens},8", "--block", "16", "--check", "--runs", "1", "--out", o, "--json"]);
        Assert.True(r.ExitCode == 0, r.Err);
        var root = JsonDocument.Parse(r.Out).RootElement;
        Assert.True(root.GetProperty("causal").GetBoolean());
        Assert.Equal(causalBy, root.GetProperty("causalBy").GetString());
        Assert.True(root.GetProperty("check").GetProperty("relativeError").GetDouble() < 1e-5);
        var data = Compute.TensorSet.Random(new AttentionShape(1, 2, 2, tokens, tokens, 8), TensorFormat.Bhsd, 0);
        AssertClose(Reference(data, layout, causal: true), Npy.Npy.ReadFloats(o).Data);
    }

    [Fact]
    public void Bench_rows_say_whether_they_were_causal()
    {
        foreach (bool causal in new[] { false, true })
        {
            var args = new List<string> { "bench", "local", "--seq", "128", "--heads", "1", "--head-dim", "8", "--block", "16", "--backends", "portable",
                "--runs", "1", "--warmup", "0", "--json" };
            if (causal) args.Add("--causal");
            var r = Cli.Run(args.ToArray());
            Assert.True(r.ExitCode == 0, r.Err);
            var root = JsonDocument.Parse(r.Out).RootElement;
            Assert.Equal(causal, root.GetProperty("causal").GetBoolean());
            Assert.All(root.GetProperty("results").EnumerateArray(), row => Assert.Equal(causal, row.GetProperty("causal").GetBoolean()));
        }
        var table = Cli.Run("bench", "local", "--seq", "128", "--heads", "1", "--head-dim", "8", "--block", "16", "--backends", "portable",
            "--runs", "1", "--warmup", "0", "--causal");
        Assert.Contains("causal", table.Out);
        Assert.Contains("--causal", table.Out);
    }

    [Fact]
    public void Bench_compares_a_causal_layout_with_causal_dense_attention()
    {
        var r = Cli.Run("bench", "strided", "--seq", "256", "--heads", "1", "--head-dim", "8", "--block", "16", "--backends", "portable",
            "--runs", "1", "--warmup", "0", "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        var rows = JsonDocument.Parse(r.Out).RootElement.GetProperty("results").EnumerateArray().ToList();
        Assert.True(rows.Single(x => x.GetProperty("pattern").GetString() == "strided").GetProperty("causal").GetBoolean());
        Assert.True(rows.Single(x => x.GetProperty("pattern").GetString() == "dense-causal").GetProperty("causal").GetBoolean());
        Assert.False(rows.Single(x => x.GetProperty("pattern").GetString() == "dense").GetProperty("causal").GetBoolean());
    }

    private static float[] Reference(Compute.TensorSet data, BlockLayout layout, bool causal)
    {
        var o = new float[data.Shape.QueryElements];
        SparseAttention.Forward(data.Query, data.Key, data.Value, o, data.Shape, layout,
            new AttentionOptions { Backend = Backend.Reference, Causal = causal });
        return o;
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        double max = 0;
        for (int i = 0; i < expected.Length; i++) max = Math.Max(max, Math.Abs(expected[i] - actual[i]));
        Assert.True(max < 1e-5, $"max |difference| {max}");
    }
}
