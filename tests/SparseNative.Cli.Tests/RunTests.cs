using Xunit;
using System.Text.Json;

namespace SparseNative.Cli.Tests;

/// <summary><c>run</c> on files: shapes, formats, GQA, outputs, and the sampled reference check.</summary>
public sealed class RunTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("bhsd", false)]
    [InlineData("bshd", true)]
    public void Run_on_files_matches_the_library_and_writes_O_and_LSE(string format, bool causal)
    {
        // GQA (4 query heads, 2 key/value heads), a length that is not a multiple of the block, float64 V to exercise conversion.
        int b = 2, hq = 4, hkv = 2, s = 70, d = 8;
        var fmt = format == "bshd" ? TensorFormat.Bshd : TensorFormat.Bhsd;
        int[] qDims = fmt == TensorFormat.Bhsd ? [b, hq, s, d] : [b, s, hq, d];
        int[] kDims = fmt == TensorFormat.Bhsd ? [b, hkv, s, d] : [b, s, hkv, d];
        var q = Random(b * hq * s * d, 1);
        var k = Random(b * hkv * s * d, 2);
        var v = Random(b * hkv * s * d, 3);
        Npy.Npy.Write(_dir.File("q.npy"), q, qDims);
        Npy.Npy.Write(_dir.File("k.npy"), k, kDims);
        Npy.Npy.Write(_dir.File("v.npy"), v.Select(x => (double)x).ToArray(), kDims);
        var args = new List<string> { "run", "dense", "--q", _dir.File("q.npy"), "--k", _dir.File("k.npy"), "--v", _dir.File("v.npy"),
            "--format", format, "--block", "16", "--out", _dir.File("o.npy"), "--lse", _dir.File("l.npy"), "--check", "--json", "--runs", "1" };
        if (causal) args.Add("--causal");
        var r = Cli.Run(args.ToArray());
        Assert.True(r.ExitCode == 0, r.Err);

        var shape = new AttentionShape(b, hq, hkv, s, s, d);
        var layout = BlockLayout.FromPredicate(16, 5, 5, 1, (_, _, _) => true);
        var expected = new float[shape.QueryElements];
        var lse = new float[shape.LogSumExpElements];
        SparseAttention.Forward(q, k, v, expected, shape, layout, new AttentionOptions { Format = fmt, Causal = causal }, lse);
        var o = Npy.Npy.ReadFloats(_dir.File("o.npy"));
        Assert.Equal(qDims, o.Shape);
        // Same backend (Auto), same data: the CLI adds nothing to the numbers.
        Assert.Equal(expected, o.Data);
        var l = Npy.Npy.ReadFloats(_dir.File("l.npy"));
        Assert.Equal([b, hq, s], l.Shape);
        Assert.Equal(lse, l.Data);

        using var json = JsonDocument.Parse(r.Out);
        var root = json.RootElement;
        Assert.Equal(hkv, root.GetProperty("shape").GetProperty("keyValueHeads").GetInt32());
        Assert.True(root.GetProperty("check").GetProperty("relativeError").GetDouble() < 1e-5);
    }

    [Fact]
    public void Q_K_V_shape_mismatches_are_exit_2()
    {
        Npy.Npy.Write(_dir.File("q.npy"), Random(2 * 32 * 8, 1), [1, 2, 32, 8]);
        Npy.Npy.Write(_dir.File("k.npy"), Random(2 * 32 * 8, 2), [1, 2, 32, 8]);
        Npy.Npy.Write(_dir.File("v16.npy"), Random(2 * 32 * 16, 3), [1, 2, 32, 16]);
        Npy.Npy.Write(_dir.File("k3.npy"), Random(3 * 32 * 8, 3), [1, 3, 32, 8]);
        Npy.Npy.Write(_dir.File("k3d.npy"), Random(2 * 32 * 8, 3), [2, 32, 8]);
        Npy.Npy.Write(_dir.File("kd16.npy"), Random(2 * 32 * 16, 3), [1, 2, 32, 16]);
        foreach (var (k, v, msg) in new[]
                 {
                     ("k.npy", "v16.npy", "must have the same shape"),
                     ("k3.npy", "k3.npy", "multiple of the key/value heads"),
                     ("k3d.npy", "k3d.npy", "expected a 4-d tensor"),
                     ("kd16.npy", "kd16.npy", "Head dimension differs"),
                 })
        {
            var r = Cli.Run("run", "dense", "--q", _dir.File("q.npy"), "--k", _dir.File(k), "--v", _dir.File(v), "--block", "16");
            Assert.True(r.ExitCode == 2, $"{k}/{v}: {r.Err}");
            Assert.Contains(msg, r.Err);
            Assert.False(r.HasStackTrace, r.Err);
        }
    }

    [Fact]
    public void A_layout_that_does_not_cover_the_sequence_is_exit_2()
    {
        // A 2×2-block DeepSpeed layout cannot serve 100 tokens at block 16 (7 blocks).
        Npy.Npy.Write(_dir.File("ds.npy"), new[] { 1, 0, 1, 1 }, [1, 2, 2]);
        var r = Cli.Run("run", "--from", _dir.File("ds.npy"), "--block", "16", "--random-inputs", "1,1,100,8");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("query blocks", r.Err);
    }

    private static float[] Random(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
    }

    [Fact]
    public void Run_draws_the_layout_it_used()
    {
        string path = _dir.File("used.png");
        var r = Cli.Run("run", "block-diagonal", "--random-inputs", "1,2,64,8", "--block", "16", "--runs", "1", "--layout-png", path);
        Assert.True(r.ExitCode == 0, r.Err);
        var img = PngDecoder.Decode(File.ReadAllBytes(path));
        Assert.Equal(12 + 4 * 16 + 2 + 12, img.Width); // 4 blocks at the largest cell size, 16 px
    }

    [Fact]
    public void Demo_prints_backend_time_density_speedup_and_error()
    {
        var r = Cli.Run("demo", "--seq", "512", "--heads", "2", "--head-dim", "16", "--runs", "1", "--check-blocks", "3");
        Assert.True(r.ExitCode == 0, r.Err);
        foreach (var part in new[] { "Backend (Auto):", "Layout density:", "Sparse time:", "Dense time:", "Speedup:", "Max error:", "3 sampled of 8 query blocks" })
            Assert.Contains(part, r.Out);
    }

    [Fact]
    public void Demo_scales_dense_time_from_leading_blocks_when_over_budget_and_says_so()
    {
        var r = Cli.Run("demo", "--seq", "1024", "--heads", "1", "--head-dim", "16", "--runs", "1", "--check-blocks", "2", "--time-budget", "0.000001");
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Contains("timed on 1 of 16 query blocks and scaled", r.Out);
    }
}
