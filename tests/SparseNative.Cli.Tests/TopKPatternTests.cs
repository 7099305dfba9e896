using System.Text.Json;
using SparseNative.Cli.Compute;
using Xunit;

namespace SparseNative.Cli.Tests;

/// <summary>The data-dependent <c>topk</c> pattern: built from the run's own Q and K, exactly as <see cref="BlockSelection.TopK"/> builds it.</summary>
public sealed class TopKPatternTests
{
    [Fact]
    public void Run_topk_uses_the_selection_of_its_own_inputs()
    {
        var r = Cli.Run("run", "topk", "--random-inputs", "1,2,256,16", "--seed", "3", "--block", "16", "--top-k", "2", "--keep-window", "1",
            "--causal", "--check", "--json", "--runs", "1");
        Assert.True(r.ExitCode == 0, r.Err);
        var json = JsonDocument.Parse(r.Out).RootElement;
        var shape = AttentionShape.SelfAttention(1, 2, 256, 16);
        var data = TensorSet.Random(shape, TensorFormat.Bhsd, 3);
        var expected = BlockSelection.TopK(data.Query, data.Key, shape, 16,
            new TopKOptions { K = 2, KeepLocalWindow = 1, Causal = true });
        Assert.Equal(expected.Density, json.GetProperty("density").GetDouble(), 12);
        Assert.Equal(AttentionCost.Flops(shape, expected, causal: true), json.GetProperty("flops").GetDouble());
        Assert.True(json.GetProperty("check").GetProperty("relativeError").GetDouble() < 1e-5);
    }

    [Fact]
    public void Layout_topk_without_tensors_is_exit_2_and_says_how()
    {
        var r = Cli.Run("layout", "topk", "--seq", "1024");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--layout-png", r.Err);
    }
}
