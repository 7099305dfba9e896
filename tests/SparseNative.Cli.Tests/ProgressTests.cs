using SparseNative.Cli.Hosting;
using Xunit;

namespace SparseNative.Cli.Tests;

/// <summary>Long work shows progress on an interactive terminal, and nothing extra anywhere else.</summary>
public sealed class ProgressTests
{
    private static readonly string[] Args =
        ["run", "dense", "--random-inputs", "1,1,256,16", "--block", "16", "--check", "--runs", "1", "--warmup", "0", "--backend", "portable"];

    [Fact]
    public void A_terminal_sees_the_reference_check_progress()
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Program.Run(Args, new CliContext(o, e, CancellationToken.None, terminal: true));
        Assert.True(code == 0, e.ToString());
        string shown = o.ToString();
        Assert.Contains("reference check, query block", shown);
        Assert.Contains("Check:", shown); // the report still follows
    }

    [Fact]
    public void Redirected_output_gets_the_report_only()
    {
        var r = Cli.Run(Args);
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.DoesNotContain("reference check, query block", r.Out);
        Assert.DoesNotContain("timed call", r.Out);
        Assert.DoesNotContain('\u001b', r.Out);
        Assert.Empty(r.Err);
        Assert.StartsWith("Problem:", r.Out);
    }
}
