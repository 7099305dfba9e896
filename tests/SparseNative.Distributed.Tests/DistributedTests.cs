using Xunit;

namespace SparseNative.Distributed.Tests;

/// <summary>
/// The distributed attention on 2, 3 and 4 local ranks against the single-process Forward on the same data (the
/// worker's accuracy suite: every layout family, contiguous and zig-zag sharding, every exchange, GQA, both formats,
/// odd lengths, the log-sum-exp), and the bad-input cases: disagreeing ranks, a wrong argument on one rank, a rank
/// that stops taking part, a rank that exits.
/// </summary>
public sealed class DistributedTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(120);

    /// <summary>Output: ‖O_dist − O‖ / ‖O‖ over the whole tensor (all ranks) ≤ 1e-6; log-sum-exp relative ≤ 1e-5; a second run
    /// bitwise equal to the first.</summary>
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void MatchesTheSingleProcessForward(int ranks)
    {
        var run = MpiRun.Run(ranks, "accuracy 1e-6", Limit);
        var cases = run.Lines("CASE ").ToList();
        Assert.True(run.ExitCode == 0, $"exit code {run.ExitCode}:\n{run.Output}");
        Assert.True(cases.Count >= 50, $"only {cases.Count} cases ran:\n{run.Output}");
        Assert.All(cases, c => Assert.EndsWith(" ok", c.Split("  [")[0]));
        // Every family and every exchange took part.
        foreach (string family in new[] { "window/", "causal-window/", "bigbird/", "longformer/", "dense/", "causal/", "phi3/", "causal-bshd/" })
            Assert.Contains(cases, c => c.StartsWith($"CASE {family}", StringComparison.Ordinal));
        foreach (string ran in new[] { "ran=LayoutAware", "ran=Ring" })
            Assert.Contains(cases, c => c.Contains(ran, StringComparison.Ordinal));
        if (ranks != 3) Assert.Contains(cases, c => c.Contains("ran=HeadParallel", StringComparison.Ordinal));
        // Auto's rule: a sliding window moves only the neighbours' edges; a dense layout goes around the ring.
        Assert.Contains(cases, c => c.StartsWith("CASE window/Contiguous/Auto ", StringComparison.Ordinal) && c.Contains("ran=LayoutAware"));
        Assert.Contains(cases, c => c.StartsWith("CASE dense/Contiguous/Auto ", StringComparison.Ordinal) && c.Contains("ran=Ring"));
    }

    [Theory]
    [InlineData("mismatch-layout", "disagree on layout")]
    [InlineData("mismatch-shape", "disagree on shape.QueryHeads")]
    public void RanksThatDisagreeAllGetTheSameError(string suite, string expected)
    {
        var (run, lines) = RunReporting(suite);
        var errors = lines.Where(l => l.StartsWith("ERROR rank ", StringComparison.Ordinal)).Select(l => l[(l.IndexOf(':') + 1)..]).ToList();
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Equal(3, errors.Count);
        Assert.Single(errors.Distinct());
        Assert.Contains(expected, errors[0]);
    }

    [Fact]
    public void AWrongArgumentOnOneRankIsAnErrorOnEveryRank()
    {
        var (run, lines) = RunReporting("bad-length");
        var errors = lines.Where(l => l.StartsWith("ERROR rank ", StringComparison.Ordinal)).ToList();
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Equal(3, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("ERROR rank 2:", StringComparison.Ordinal) && e.Contains("query has 559 elements"));
        Assert.Equal(2, errors.Count(e => e.Contains("rank 2 refused its arguments")));
    }

    /// <summary>Runs a bad-input suite on 3 ranks; each rank's line comes from its own file (mpirun may interleave long lines).</summary>
    private static (MpiRun.Result Run, List<string> Lines) RunReporting(string suite)
    {
        string folder = Directory.CreateTempSubdirectory("sparsenative-mpi-").FullName;
        try
        {
            var run = MpiRun.Run(3, $"{suite} {folder}", Limit);
            var lines = Directory.GetFiles(folder, "rank*.txt").Order().Select(File.ReadAllText).ToList();
            return (run, lines);
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    [Fact]
    public void ARankThatStopsTakingPartMakesTheOthersFailWithinTheTimeout()
    {
        var run = MpiRun.Run(3, "hang", Limit, new Dictionary<string, string> { ["SPARSENATIVE_MPI_TIMEOUT_S"] = "3" });
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("not complete after 3 s", run.Output);
        Assert.Contains("the job cannot continue", run.Output); // then MPI_Abort ends the job (a non-zero exit)
        Assert.True(run.Elapsed < TimeSpan.FromSeconds(60), $"took {run.Elapsed}");
    }

    [Fact]
    public void ARankThatExitsEndsTheJob()
    {
        var run = MpiRun.Run(3, "exit", Limit, new Dictionary<string, string> { ["SPARSENATIVE_MPI_TIMEOUT_S"] = "3" });
        Assert.NotEqual(0, run.ExitCode);
        Assert.True(run.Elapsed < TimeSpan.FromSeconds(60), $"took {run.Elapsed}");
    }

    /// <summary>The bench's distributed section on a tiny problem: it runs, and its byte counts match the closed forms.</summary>
    [Fact]
    public void TheBenchsByteCountsMatchTheFormulas()
    {
        var run = MpiRun.Run(4, "distributed --tokens 4100 --heads 2 --kv-heads 2 --dim 16 --block 64 --iterations 1", Limit,
            program: MpiRun.Built("bench", "SparseNative.Bench"));
        var rows = run.Lines("| ").Where(l => l.Contains("Contiguous") || l.Contains("ZigZag")).ToList();
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Equal(10, rows.Count);
        Assert.DoesNotContain(rows, r => r.Contains("MISMATCH"));
        Assert.Equal(7, rows.Count(r => r.Contains("| matches |")));
    }
}
