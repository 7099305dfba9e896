using Xunit;

namespace SparseNative.Tests;

/// <summary>The dispatcher's log line for a causal layout; sets the process-wide log, so it runs alone.</summary>
[Collection(nameof(GlobalDispatcherState))]
public class CausalLayoutLogTests
{
    [Fact]
    public void The_log_says_when_causality_came_from_the_layout()
    {
        var s = new AttentionShape(1, 1, 1, 40, 40, 8);
        var (q, k, v) = TestData.Qkv(s, 1);
        var lines = new List<string>();
        void Run(BlockLayout layout, bool causal) => SparseAttention.Forward(q, k, v, new float[s.QueryElements], s, layout,
            new AttentionOptions { Backend = Backend.Reference, Causal = causal });
        SparseAttention.Log = lines.Add;
        try
        {
            Run(BlockPatterns.Causal(40, 16), causal: false);
            Run(BlockPatterns.Causal(40, 16), causal: true);
            Run(BlockPatterns.Dense(40, 16), causal: false);
        }
        finally { SparseAttention.Log = null; }
        Assert.Equal(3, lines.Count);
        Assert.Contains(", causal (from the layout): Reference", lines[0]);
        Assert.Contains(", causal: Reference", lines[1]);
        Assert.DoesNotContain("causal", lines[2]);
    }
}
