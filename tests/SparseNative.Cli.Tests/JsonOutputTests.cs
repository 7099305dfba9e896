using Xunit;
using System.Diagnostics;
using System.Text.Json;

namespace SparseNative.Cli.Tests;

/// <summary><c>--json</c> outputs are one valid JSON document with the fields docs/CLI.md documents.</summary>
public sealed class JsonOutputTests
{
    [Fact]
    public void Info_json_has_cpu_instruction_sets_and_every_backend()
    {
        var r = Cli.Run("info", "--json");
        Assert.Equal(0, r.ExitCode);
        using var doc = JsonDocument.Parse(r.Out);
        var root = doc.RootElement;
        Assert.False(string.IsNullOrWhiteSpace(root.GetProperty("cpu").GetString()));
        Assert.True(root.GetProperty("logicalCores").GetInt32() >= 1);
        var isa = root.GetProperty("instructionSets");
        foreach (var key in new[] { "vector512Accelerated", "vector256Accelerated", "vector128Accelerated", "avx512F", "avx2", "fma", "advSimd" })
            Assert.True(isa.GetProperty(key).ValueKind is JsonValueKind.True or JsonValueKind.False, key);
        var backends = root.GetProperty("backends").EnumerateArray().ToList();
        Assert.Equal(Enum.GetValues<Backend>().Length - 1, backends.Count); // every backend but Auto
        foreach (var b in backends)
        {
            bool available = b.GetProperty("available").GetBoolean();
            Assert.True(Enum.TryParse<Backend>(b.GetProperty("name").GetString(), out _));
            Assert.Equal(available, b.GetProperty("reason").ValueKind == JsonValueKind.Null);
            Assert.Equal(JsonValueKind.String, b.GetProperty("details").ValueKind);
        }
        Assert.Contains(backends, b => b.GetProperty("name").GetString() == "Reference" && b.GetProperty("available").GetBoolean());
        Assert.False(string.IsNullOrEmpty(root.GetProperty("autoBackend").GetString()));
        Assert.Contains("Backends:", root.GetProperty("describe").GetString());
    }

    [Fact]
    public void Run_json_has_timing_flops_and_check()
    {
        var r = Cli.Run("run", "causal", "--random-inputs", "1,2,100,8", "--block", "16", "--causal", "--check", "--json", "--runs", "2", "--warmup", "0");
        Assert.True(r.ExitCode == 0, r.Err);
        using var doc = JsonDocument.Parse(r.Out);
        var root = doc.RootElement;
        Assert.False(string.IsNullOrEmpty(root.GetProperty("backend").GetString()));
        Assert.Equal(100, root.GetProperty("shape").GetProperty("queryLength").GetInt32());
        Assert.Equal(2, root.GetProperty("timesMs").GetArrayLength());
        Assert.True(root.GetProperty("medianMs").GetDouble() > 0);
        // Causal dense over 100 tokens: 2 heads × 100·101/2 pairs × 4·8 flops.
        Assert.Equal(2 * 5050 * 32.0, root.GetProperty("flops").GetDouble());
        Assert.True(root.GetProperty("gflops").GetDouble() > 0);
        var check = root.GetProperty("check");
        Assert.True(check.GetProperty("full").GetBoolean());
        Assert.True(check.GetProperty("relativeError").GetDouble() < 1e-5);
        Assert.True(check.GetProperty("maxAbsError").GetDouble() < 1e-5);
    }

    [Fact]
    public void Bench_json_has_one_row_per_length_pattern_and_backend_with_speedup()
    {
        var r = Cli.Run("bench", "block-diagonal", "local", "--seq", "128,256", "--heads", "2", "--head-dim", "8", "--block", "16",
            "--backends", "reference", "--runs", "1", "--warmup", "0", "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        using var doc = JsonDocument.Parse(r.Out);
        var root = doc.RootElement;
        Assert.False(root.GetProperty("cancelled").GetBoolean());
        Assert.Equal(2, root.GetProperty("heads").GetInt32());
        var rows = root.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(2 * 3, rows.Count); // two lengths × (dense + two patterns) × one backend
        foreach (var row in rows)
        {
            Assert.Equal("Reference", row.GetProperty("backend").GetString());
            Assert.True(row.GetProperty("medianMs").GetDouble() > 0);
            Assert.True(row.GetProperty("gflops").GetDouble() > 0);
            Assert.InRange(row.GetProperty("density").GetDouble(), 0, 1);
            Assert.True(row.GetProperty("speedupVsDense").GetDouble() > 0);
            Assert.Equal(JsonValueKind.Null, row.GetProperty("skipped").ValueKind);
        }
        Assert.Equal(1.0, rows.First(x => x.GetProperty("pattern").GetString() == "dense").GetProperty("speedupVsDense").GetDouble());
    }

    [Fact]
    public void Bench_plot_writes_a_png()
    {
        using var dir = new TempDir();
        string path = dir.File("bench.png");
        var r = Cli.Run("bench", "block-diagonal", "--seq", "128,256", "--heads", "1", "--head-dim", "8", "--block", "16",
            "--backends", "reference", "--runs", "1", "--warmup", "0", "--plot", path);
        Assert.True(r.ExitCode == 0, r.Err);
        var img = PngDecoder.Decode(File.ReadAllBytes(path));
        Assert.Equal(1400, img.Width);
        Assert.Equal(560, img.Height);
    }

    [Fact]
    public void The_installed_program_runs_as_a_process()
    {
        // One smoke test through a real process: the entry point, console streams and exit code.
        string dll = Path.Combine(AppContext.BaseDirectory, "SparseNative.Cli.dll");
        var psi = new ProcessStartInfo("dotnet", [dll, "info", "--json"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        string error = p.StandardError.ReadToEnd();
        Assert.True(p.WaitForExit(60_000));
        Assert.True(p.ExitCode == 0, error);
        using var doc = JsonDocument.Parse(output);
        Assert.True(doc.RootElement.TryGetProperty("backends", out _));

        using var bad = Process.Start(new ProcessStartInfo("dotnet", [dll, "layout", "nope", "--seq", "64"]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        string badErr = bad.StandardError.ReadToEnd();
        bad.WaitForExit(60_000);
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("Unknown pattern", badErr);
    }
}
