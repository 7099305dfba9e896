using Xunit;

namespace SparseNative.Tests;

/// <summary>Tests that change the dispatcher's process-wide settings run alone.</summary>
[CollectionDefinition(nameof(GlobalDispatcherState), DisableParallelization = true)]
public sealed class GlobalDispatcherState;

[Collection(nameof(GlobalDispatcherState))]
public class DispatcherTests
{
    private static readonly AttentionShape S = new(1, 2, 2, 100, 100, 16);
    private static readonly BlockLayout L = TestData.RandomLayout(32, 4, 4, 2, 0.6, 8);

    [Fact]
    public void EveryBackendIsListedWithAReasonWhenUnavailable()
    {
        var infos = SparseAttention.Backends;
        Assert.Equal(Enum.GetValues<Backend>().Length - 1, infos.Count); // all but Auto
        Assert.Contains(infos, i => i.Backend == Backend.Reference && i.IsAvailable);
        Assert.All(infos.Where(i => !i.IsAvailable), i => Assert.False(string.IsNullOrWhiteSpace(i.Reason)));
        var text = SparseAttention.Describe();
        Assert.Contains("Auto tries, in order", text);
        foreach (var i in infos) Assert.Contains(i.Backend.ToString(), text);
    }

    [Fact]
    public void SelectBackendAgreesWithForward()
    {
        var (q, k, v) = TestData.Qkv(S, 4);
        var o = new float[S.QueryElements];
        Assert.Equal(SparseAttention.SelectBackend(S, L), SparseAttention.Forward(q, k, v, o, S, L));
    }

    [Fact]
    public void AutoTuneMeasuresOnceThenReusesTheWinnerAndStaysCorrect()
    {
        var (q, k, v) = TestData.Qkv(S, 5);
        var expected = new float[S.QueryElements];
        SparseAttention.Forward(q, k, v, expected, S, L, new AttentionOptions { Backend = Backend.Reference });
        var lines = new List<string>();
        SparseAttention.ClearAutoTuneCache();
        SparseAttention.AutoTune = true;
        SparseAttention.Log = lines.Add;
        try
        {
            var o1 = new float[S.QueryElements];
            var first = SparseAttention.Forward(q, k, v, o1, S, L);
            int measured = lines.Count(l => l.Contains(" took "));
            var o2 = new float[S.QueryElements];
            var second = SparseAttention.Forward(q, k, v, o2, S, L);
            Assert.Equal(first, second);
            Assert.True(measured >= 1);
            Assert.Equal(measured, lines.Count(l => l.Contains(" took "))); // no new measurement the second time
            Assert.Contains(lines, l => l.Contains($"chose {first}"));
            Assert.True(TestData.RelativeError(o1, expected) <= Tolerances.ForwardRelative);
            Assert.True(TestData.RelativeError(o2, expected) <= Tolerances.ForwardRelative);
            // The first call's output is the returned backend's result (not the last candidate's): bitwise that backend run alone.
            var alone = new float[S.QueryElements];
            SparseAttention.Forward(q, k, v, alone, S, L, new AttentionOptions { Backend = first });
            Assert.Equal(alone, o1);
            Assert.Equal(o2, o1);
        }
        finally
        {
            SparseAttention.AutoTune = false;
            SparseAttention.Log = null;
            SparseAttention.ClearAutoTuneCache();
        }
    }

    [Fact]
    public void LogReportsTheDecision()
    {
        var lines = new List<string>();
        SparseAttention.Log = lines.Add;
        try
        {
            var (q, k, v) = TestData.Qkv(S, 6);
            SparseAttention.Forward(q, k, v, new float[S.QueryElements], S, L, new AttentionOptions { Backend = Backend.Reference });
        }
        finally { SparseAttention.Log = null; }
        Assert.Contains(lines, l => l.Contains("Reference (requested Reference)"));
    }
}
