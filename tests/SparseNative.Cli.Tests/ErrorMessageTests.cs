using Xunit;

namespace SparseNative.Cli.Tests;

/// <summary>Error messages speak the command line's language: option names, not the library's parameter or type names.</summary>
public sealed class ErrorMessageTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("--block: Block size 48 is not supported", "run", "dense", "--random-inputs", "1,2,64,8", "--block", "48")]
    [InlineData("--threads must be 0 (all cores) or positive", "run", "dense", "--random-inputs", "1,2,64,8", "--threads", "-1")]
    [InlineData("--window must be at least 0; got -1", "layout", "local", "--seq", "256", "--window", "-1")]
    [InlineData("--num-local must be at least 1; got 0", "layout", "fixed", "--seq", "1024", "--num-local", "0")]
    [InlineData("--random-blocks must be at least 0; got -2", "layout", "bigbird", "--seq", "1024", "--random-blocks", "-2")]
    [InlineData("--global-end has 1 entries but --global has 2", "layout", "longformer", "--seq", "1024", "--global", "0,3", "--global-end", "1")]
    [InlineData("--local-windows[0] = 0", "layout", "variable", "--seq", "1024", "--local-windows", "0")]
    [InlineData("--top-k must be ≥ 0, got -1", "run", "topk", "--random-inputs", "1,2,256,8", "--block", "16", "--top-k", "-1")]
    [InlineData("--mass must be in (0, 1], got 2", "run", "topk", "--random-inputs", "1,2,256,8", "--block", "16", "--mass", "2")]
    [InlineData("--seq: 'abc' is not an integer. (see 'sparsenative layout --help')", "layout", "dense", "--seq", "abc")]
    [InlineData("--scale: 'x' is not a number.", "run", "dense", "--random-inputs", "1,2,64,8", "--scale", "x")]
    [InlineData("--format 'sbhd' is not one of bhsd, bshd.", "run", "dense", "--random-inputs", "1,2,64,8", "--format", "sbhd")]
    [InlineData("The sequence length = 100000000 gives a layout", "layout", "phi3", "--seq", "100000000")]
    public void Errors_name_the_option_on_one_line(string expected, params string[] args)
    {
        var r = Cli.Run(args);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"error: {expected}", r.Err.TrimEnd()[..($"error: {expected}".Length)]);
        Assert.Single(r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        foreach (var api in new[] { "windowBlocks", "numLocalBlocks", "numRandomBlocks", "globalBlockIndices", "MassThreshold", "blockSize", "MaxThreads", "Nullable" })
            Assert.DoesNotContain(api, r.Err);
    }

    [Fact]
    public void Invalid_layout_files_are_named_with_their_option_and_the_tools_array_names()
    {
        Npy.Npy.Write(_dir.File("ds.npy"), new[] { 1, 2, 0, 1 }, [1, 2, 2]);
        var ds = Cli.Run("layout", "--from", _dir.File("ds.npy"), "--block", "16");
        Assert.Equal(2, ds.ExitCode);
        Assert.StartsWith($"error: --from {_dir.File("ds.npy")}: layout[1] (head 0, row 0, column 1) = 2", ds.Err);

        var (rows, cols, nnz) = BlockPatterns.LocalWindow(256, 16, 1).ToOnnxRuntime();
        Npy.Npy.Write(_dir.File("rows.npy"), rows, [1, rows.Length]);
        Npy.Npy.Write(_dir.File("cols.npy"), cols, [1, nnz]);
        // The two files swapped: the message uses ONNX Runtime's input names, not the library's parameter names.
        var ort = Cli.Run("layout", "--from-ort", _dir.File("cols.npy"), _dir.File("rows.npy"), "--block", "16");
        Assert.Equal(2, ort.ExitCode);
        Assert.StartsWith($"error: --from-ort {_dir.File("cols.npy")}, {_dir.File("rows.npy")}: block_row_indices[", ort.Err);
        Assert.DoesNotContain("blockRowIndices", ort.Err);
        Assert.Single(ort.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Theory]
    [InlineData("BSHD")]
    [InlineData("Bshd")]
    [InlineData("bshd")]
    public void Format_is_case_insensitive(string format)
    {
        var r = Cli.Run("run", "dense", "--random-inputs", "1,2,64,8", "--block", "16", "--format", format, "--runs", "1", "--warmup", "0", "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Contains("\"format\": \"bshd\"", r.Out);
    }

    [Fact]
    public void Backend_names_are_case_insensitive_and_numbers_are_not_names()
    {
        Assert.Equal(0, Cli.Run("run", "dense", "--random-inputs", "1,1,32,8", "--block", "16", "--backend", "REFERENCE", "--runs", "1", "--warmup", "0").ExitCode);
        var r = Cli.Run("run", "dense", "--random-inputs", "1,1,32,8", "--block", "16", "--backend", "1");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--backend '1' is not one of", r.Err);
    }

    [Fact]
    public void A_non_finite_input_names_the_file_and_the_numpy_index_not_a_library_option()
    {
        var q = Enumerable.Range(0, 2 * 16 * 8).Select(i => (float)Math.Sin(i + 1)).ToArray();
        q[(1 * 16 + 5) * 8 + 3] = float.NaN; // [0, 1, 5, 3] of (1, 2, 16, 8)
        Npy.Npy.Write(_dir.File("q.npy"), q, [1, 2, 16, 8]);
        var k = Enumerable.Range(0, 2 * 16 * 8).Select(i => (float)Math.Cos(i + 1)).ToArray();
        Npy.Npy.Write(_dir.File("k.npy"), k, [1, 2, 16, 8]);
        // A float64 value beyond float32's range becomes +inf when read.
        Npy.Npy.Write(_dir.File("v.npy"), k.Select((x, i) => i == 7 ? 1e300 : x).ToArray(), [1, 2, 16, 8]);

        var r = Cli.Run("run", "dense", "--q", _dir.File("q.npy"), "--k", _dir.File("k.npy"), "--v", _dir.File("k.npy"), "--block", "16");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains($"{_dir.File("q.npy")}: element [0, 1, 5, 3] is NaN", r.Err);
        Assert.DoesNotContain("CheckFinite", r.Err);
        Assert.DoesNotContain("AttentionOptions", r.Err);

        var inf = Cli.Run("run", "dense", "--q", _dir.File("k.npy"), "--k", _dir.File("k.npy"), "--v", _dir.File("v.npy"), "--block", "16");
        Assert.Equal(2, inf.ExitCode);
        Assert.Contains($"{_dir.File("v.npy")}: element [0, 0, 0, 7] is +inf", inf.Err);
    }

    [Theory]
    [InlineData("layout")]
    [InlineData("run")]
    [InlineData("bench")]
    [InlineData("demo")]
    [InlineData("info")]
    public void Help_lists_each_option_once(string command)
    {
        var r = Cli.Run(command, "--help");
        Assert.Equal(0, r.ExitCode);
        var options = r.Out.Split('\n')
            .Select(l => l.TrimStart())
            .Where(l => l.StartsWith("--", StringComparison.Ordinal) || (l.StartsWith('-') && l.Contains(", --")))
            .SelectMany(l => l.Split(' ')[0].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .ToList();
        Assert.NotEmpty(options);
        Assert.Equal(options.Count, options.Distinct().Count());
    }

    [Fact]
    public void Run_has_random_inputs_and_random_blocks_as_two_options()
    {
        var help = Cli.Run("run", "--help").Out;
        Assert.Single(help.Split('\n'), l => l.TrimStart().StartsWith("--random-inputs ", StringComparison.Ordinal));
        Assert.Single(help.Split('\n'), l => l.TrimStart().StartsWith("--random-blocks ", StringComparison.Ordinal));
    }

    [Fact]
    public void The_random_blocks_option_is_the_same_in_layout_run_and_bench_and_reaches_the_pattern()
    {
        double Density(Cli.Result r)
        {
            Assert.True(r.ExitCode == 0, r.Err);
            return System.Text.Json.JsonDocument.Parse(r.Out).RootElement.GetProperty("density").GetDouble();
        }
        // From run: the random block count was unreachable while --random-inputs meant the tensor shape.
        var expected = BlockPatterns.BigBird(1024, 32, numRandomBlocks: 4, heads: 2, seed: 0).Density;
        Assert.Equal(expected, Density(Cli.Run("run", "bigbird", "--random-inputs", "1,2,1024,8", "--block", "32", "--random-blocks", "4", "--runs", "1", "--warmup", "0", "--json")), 12);
        var layout = Cli.Run("layout", "bigbird", "--seq", "1024", "--heads", "2", "--block", "32", "--random-blocks", "4", "--json");
        Assert.True(layout.ExitCode == 0, layout.Err);
        Assert.Equal(expected, System.Text.Json.JsonDocument.Parse(layout.Out).RootElement.GetProperty("stats").GetProperty("density").GetDouble(), 12);
        var bench = Cli.Run("bench", "bigbird", "--seq", "1024", "--heads", "2", "--head-dim", "8", "--block", "32", "--random-blocks", "4",
            "--backends", "portable", "--runs", "1", "--warmup", "0", "--json");
        Assert.True(bench.ExitCode == 0, bench.Err);
        var row = System.Text.Json.JsonDocument.Parse(bench.Out).RootElement.GetProperty("results").EnumerateArray()
            .Single(x => x.GetProperty("pattern").GetString() == "bigbird");
        Assert.Equal(expected, row.GetProperty("density").GetDouble(), 12);
    }
}
