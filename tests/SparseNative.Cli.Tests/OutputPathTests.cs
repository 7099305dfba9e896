using Xunit;

namespace SparseNative.Cli.Tests;

/// <summary>Every output path is checked before any work, and a command that cannot write all its outputs writes none.</summary>
public sealed class OutputPathTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Missing(string name) => Path.Combine(_dir.Path, "no-such-dir", name);

    [Theory]
    [InlineData("--out")]
    [InlineData("--lse")]
    [InlineData("--layout-png")]
    public void Run_checks_each_output_before_reading_or_computing_anything(string option)
    {
        // The inputs do not exist either: an output checked first is the error reported, so nothing was read or computed.
        var r = Cli.Run("run", "dense", "--q", _dir.File("q.npy"), "--k", _dir.File("k.npy"), "--v", _dir.File("v.npy"), option, Missing("x"));
        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"error: {option} {Missing("x")}: the directory {Path.GetDirectoryName(Missing("x"))} does not exist.", r.Err.TrimEnd());
        Assert.Empty(r.Out);
    }

    [Fact]
    public void An_output_that_is_a_directory_says_so()
    {
        var r = Cli.Run("run", "dense", "--random-inputs", "1,1,32,8", "--block", "16", "--out", _dir.Path);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains($"--out {_dir.Path}: is a directory; give a file name", r.Err);
        Assert.DoesNotContain("denied", r.Err);
    }

    [Fact]
    public void When_one_output_cannot_be_written_none_is_and_existing_files_are_kept()
    {
        string ok = _dir.File("ok.npy"), kept = _dir.File("kept.npy");
        File.WriteAllText(kept, "previous contents");
        var r = Cli.Run("run", "dense", "--random-inputs", "1,1,32,8", "--block", "16", "--out", ok, "--layout-png", kept, "--lse", Missing("l.npy"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--lse", r.Err);
        Assert.False(File.Exists(ok));
        Assert.Equal("previous contents", File.ReadAllText(kept));
        Assert.Equal(["kept.npy"], Directory.GetFiles(_dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void A_failure_after_the_outputs_were_reserved_leaves_no_file_behind()
    {
        // The layout does not fit the tensors: detected after the outputs were checked; no partial or temporary file remains.
        Npy.Npy.Write(_dir.File("ds.npy"), new[] { 1, 0, 1, 1 }, [1, 2, 2]);
        var r = Cli.Run("run", "--from", _dir.File("ds.npy"), "--block", "16", "--random-inputs", "1,1,100,8", "--out", _dir.File("o.npy"));
        Assert.Equal(2, r.ExitCode);
        Assert.Equal(["ds.npy"], Directory.GetFiles(_dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void Successful_outputs_replace_existing_files_and_leave_no_temporary_files()
    {
        string o = _dir.File("o.npy");
        File.WriteAllText(o, "old");
        var r = Cli.Run("run", "dense", "--random-inputs", "1,1,32,8", "--block", "16", "--runs", "1", "--out", o, "--lse", _dir.File("l.npy"));
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Equal([1, 1, 32, 8], Npy.Npy.ReadFloats(o).Shape);
        Assert.Equal(["l.npy", "o.npy"], Directory.GetFiles(_dir.Path).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void The_same_file_for_two_outputs_is_refused()
    {
        var r = Cli.Run("run", "dense", "--random-inputs", "1,1,32,8", "--block", "16", "--out", _dir.File("x.npy"), "--lse", _dir.File("x.npy"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--lse", r.Err);
        Assert.Contains("the same file as --out", r.Err);
    }

    [Fact]
    public void Layout_and_bench_check_their_outputs_first_too()
    {
        var layout = Cli.Run("layout", "bigbird", "--seq", "1024", "--png", _dir.File("ok.png"), "--out", _dir.File("ds.npy"), "--out-ort", _dir.File("r.npy"), Missing("c.npy"));
        Assert.Equal(2, layout.ExitCode);
        Assert.Contains("--out-ort", layout.Err);
        Assert.Empty(Directory.GetFiles(_dir.Path));
        Assert.Empty(layout.Out);

        var bench = Cli.Run("bench", "dense", "--seq", "128", "--heads", "1", "--head-dim", "8", "--block", "16", "--backends", "reference", "--plot", Missing("b.png"));
        Assert.Equal(2, bench.ExitCode);
        Assert.Contains("--plot", bench.Err);
        Assert.Empty(bench.Out); // nothing was measured
    }
}
