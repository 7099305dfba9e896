using Xunit;
namespace SparseNative.Cli.Tests;

/// <summary>Command lines that must work, and command lines that must fail with exit code 2 and a message (never a stack trace).</summary>
public sealed class ArgumentTests
{
    [Theory]
    [InlineData("--help")]
    [InlineData("info")]
    [InlineData("layout", "--help")]
    [InlineData("layout", "dense", "--seq", "1000", "--block", "32")]
    [InlineData("layout", "causal", "--seq", "777", "--block", "16", "--no-preview")]
    [InlineData("layout", "bigbird", "--seq", "2048", "--heads", "4", "--random-blocks", "2", "--sliding", "5", "--layout-seed", "3")]
    [InlineData("layout", "phi3", "--seq", "4096", "--layouts", "2", "--heads", "4")]
    [InlineData("layout", "strided", "--seq", "1024", "--local", "2", "--stride", "4")]
    [InlineData("layout", "longformer", "--seq", "1024", "--global", "0,3", "--global-end", "1,4")]
    [InlineData("layout", "block-diagonal", "--seq", "512", "--width", "40")]
    [InlineData("run", "local", "--random-inputs", "1,2,200,16", "--window", "3", "--block", "16", "--runs", "1", "--warmup", "0")]
    public void Good_command_lines_exit_0(params string[] args)
    {
        var r = Cli.Run(args);
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}: {r.Err}");
        Assert.Empty(r.Err);
    }

    [Theory]
    [InlineData("frobnicate")]
    [InlineData("layout")]
    [InlineData("layout", "nope", "--seq", "100")]
    [InlineData("layout", "dense")]
    [InlineData("layout", "dense", "--seq", "abc")]
    [InlineData("layout", "dense", "--seq", "-5")]
    [InlineData("layout", "dense", "--seq", "0")]
    [InlineData("layout", "dense", "--seq", "100", "--block", "48")]
    [InlineData("layout", "phi3", "--seq", "4096", "--block", "32")]
    [InlineData("layout", "dense", "--seq", "100", "--heads", "0")]
    [InlineData("layout", "bigbird", "--seq", "1024", "--global", "1,x")]
    [InlineData("layout", "dense", "--seq", "100", "--from", "x.npy")]
    [InlineData("layout", "dense", "--seq", "100", "--cell", "0", "--png", "never-written.png")]
    [InlineData("run", "dense")]
    [InlineData("run", "dense", "--random-inputs", "1,2,3")]
    [InlineData("run", "dense", "--random-inputs", "1,2,0,8")]
    [InlineData("run", "dense", "--random-inputs", "1,3,64,8", "--kv-heads", "2")]
    [InlineData("run", "dense", "--random-inputs", "1,2,64,8", "--backend", "warp-drive")]
    [InlineData("run", "dense", "--random-inputs", "1,2,64,8", "--format", "sbhd")]
    [InlineData("run", "dense", "--random-inputs", "1,2,64,8", "--threads", "-1")]
    [InlineData("run", "dense", "--random-inputs", "1,2,64,8", "--scale", "NaN")]
    [InlineData("run", "dense", "--random-inputs", "1,2,64,8", "--runs", "0")]
    [InlineData("run", "dense", "--random-inputs", "1,2,64,8", "--q", "q.npy")]
    [InlineData("run", "dense", "--q", "q.npy")]
    [InlineData("bench", "bigbird", "--seq", "0")]
    [InlineData("bench", "bigbird", "--seq", "256", "--backends", "auto")]
    [InlineData("demo", "--seq", "-1")]
    [InlineData("layout", "dense", "--seq", "100", "--tolerance", "x")]
    [InlineData("layout", "local", "--seq", "256", "--window", "-1")]
    [InlineData("layout", "fixed", "--seq", "1024", "--num-local", "0")]
    [InlineData("layout", "longformer", "--seq", "1024", "--global", "0,3", "--global-end", "1")]
    [InlineData("run", "topk", "--random-inputs", "1,2,256,8", "--block", "16", "--top-k", "-1")]
    [InlineData("run", "dense", "--random-inputs", "1,2,64,8", "--tolerance", "-1")]
    [InlineData("run", "dense", "--random-inputs", "1,2,64,8", "--backend", "cuda-and-more")]
    public void Bad_command_lines_exit_2_with_a_message(params string[] args)
    {
        var r = Cli.Run(args);
        Assert.True(r.ExitCode == 2, $"exit {r.ExitCode} for '{string.Join(' ', args)}': {r.Out}{r.Err}");
        // One line "error: …" (docs/CLI.md), never a second line such as "Actual value was …", never a .NET type name.
        var line = Assert.Single(r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line);
        Assert.DoesNotContain("Actual value", line);
        Assert.DoesNotContain("System.", line);
        Assert.False(r.HasStackTrace, r.Err);
    }

    [Fact]
    public void A_backend_that_cannot_run_here_is_exit_2_naming_it()
    {
        var missing = SparseAttention.Backends.FirstOrDefault(b => !b.IsAvailable);
        Assert.SkipWhen(missing is null, "every backend is available on this machine");
        var r = Cli.Run("run", "dense", "--random-inputs", "1,2,64,8", "--block", "16", "--backend", missing!.Backend.ToString());
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(missing.Backend.ToString(), r.Err);
    }

    [Fact]
    public void Cancellation_before_the_first_run_exits_130_cleanly()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var r = Cli.Run(cts.Token, "bench", "dense", "--seq", "128", "--heads", "1", "--head-dim", "8", "--block", "16", "--backends", "reference");
        Assert.Equal(130, r.ExitCode);
        Assert.Contains("Cancelled", r.Err);
        Assert.False(r.HasStackTrace, r.Err);
    }

    [Fact]
    public void Cancellation_during_bench_keeps_the_completed_runs()
    {
        // Cancelled between runs (as Ctrl+C does): the JSON says so and holds only whole measurements.
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(1500));
        var r = Cli.Run(cts.Token, "bench", "dense", "--seq", "128,256,512,1024,2048,4096", "--heads", "2", "--head-dim", "16", "--block", "16",
            "--backends", "reference", "--runs", "3", "--json");
        Assert.Equal(130, r.ExitCode);
        using var doc = System.Text.Json.JsonDocument.Parse(r.Out);
        Assert.True(doc.RootElement.GetProperty("cancelled").GetBoolean());
        var rows = doc.RootElement.GetProperty("results").EnumerateArray().ToList();
        Assert.True(rows.Count < 12);
        Assert.All(rows, row => Assert.Equal(3, row.GetProperty("timesMs").GetArrayLength()));
    }
}
