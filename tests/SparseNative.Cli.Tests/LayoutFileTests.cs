using System.Text.Json;
using Xunit;

namespace SparseNative.Cli.Tests;

/// <summary>DeepSpeed and ONNX Runtime layout files: what the library exports, the CLI reads back to the same layout.</summary>
public sealed class LayoutFileTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void DeepSpeed_file_gives_the_same_layout_as_the_pattern()
    {
        var layout = BlockPatterns.BigBird(1024, 64, heads: 2, seed: 4);
        Npy.Npy.Write(_dir.File("ds.npy"), layout.ToDeepSpeed(2), [2, 16, 16]);
        var fromFile = Json(Cli.Run("run", "--from", _dir.File("ds.npy"), "--block", "64", "--random-inputs", "1,2,1024,16", "--json", "--runs", "1", "--check"));
        var fromPattern = Json(Cli.Run("run", "bigbird", "--layout-seed", "4", "--block", "64", "--random-inputs", "1,2,1024,16", "--json", "--runs", "1"));
        Assert.Equal(layout.Density, fromFile.GetProperty("density").GetDouble(), 12);
        Assert.Equal(fromPattern.GetProperty("flops").GetDouble(), fromFile.GetProperty("flops").GetDouble());
        Assert.True(fromFile.GetProperty("check").GetProperty("relativeError").GetDouble() < 1e-5);
    }

    [Fact]
    public void OnnxRuntime_files_give_the_same_layout_and_a_longer_file_is_cropped()
    {
        // Made for 2048 tokens (32 blocks), used on 1000 tokens (16 blocks): cropped, and the output says so.
        var layout = BlockPatterns.Phi3Small(2048, numLayouts: 2);
        var (rows, cols, maxNnz) = layout.ToOnnxRuntime();
        Npy.Npy.Write(_dir.File("rows.npy"), rows, [2, 33]);
        Npy.Npy.Write(_dir.File("cols.npy"), cols, [2, maxNnz]);
        var r = Cli.Run("run", "--from-ort", _dir.File("rows.npy"), _dir.File("cols.npy"), "--block", "64", "--random-inputs", "1,4,1000,16",
            "--causal", "--check", "--json", "--runs", "1");
        var json = Json(r);
        Assert.Contains("cropped to 16×16", json.GetProperty("note").GetString());
        var expected = BlockPatterns.Phi3Small(1000, numLayouts: 2);
        Assert.Equal(expected.Density, json.GetProperty("density").GetDouble(), 12);
        Assert.True(json.GetProperty("check").GetProperty("relativeError").GetDouble() < 1e-5);
    }

    [Fact]
    public void Layout_command_reads_a_file_and_infers_the_length()
    {
        Npy.Npy.Write(_dir.File("ds.npy"), BlockPatterns.LocalWindow(512, 32, 1).ToDeepSpeed(1), [16, 16]);
        var r = Cli.Run("layout", "--from", _dir.File("ds.npy"), "--block", "32", "--no-preview");
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Contains("512 × 1", r.Out);
        Assert.Contains("16 × 16 of 32 tokens", r.Out);
    }

    [Fact]
    public void Invalid_layout_files_are_exit_2()
    {
        Npy.Npy.Write(_dir.File("two.npy"), new[] { 1, 2, 0, 1 }, [2, 2]);
        Npy.Npy.Write(_dir.File("rect.npy"), new int[6], [2, 3]);
        Npy.Npy.Write(_dir.File("f.npy"), new float[4], [2, 2]);
        foreach (var (file, msg) in new[] { ("two.npy", "2"), ("rect.npy", "(blocks, blocks)"), ("f.npy", "not supported for integer arrays") })
        {
            var r = Cli.Run("layout", "--from", _dir.File(file), "--block", "16");
            Assert.True(r.ExitCode == 2, $"{file}: {r.Err}");
            Assert.Contains(msg, r.Err);
            Assert.False(r.HasStackTrace, r.Err);
        }
        var ort = Cli.Run("layout", "--from-ort", _dir.File("two.npy"), _dir.File("rect.npy"), "--block", "16");
        Assert.Equal(2, ort.ExitCode);
        Assert.False(ort.HasStackTrace, ort.Err);
    }

    private static JsonElement Json(Cli.Result r)
    {
        Assert.True(r.ExitCode == 0, r.Err);
        return JsonDocument.Parse(r.Out).RootElement.Clone();
    }
}
