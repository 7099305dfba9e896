using SparseNative.Interop;
using Xunit;

namespace SparseNative.Tests.Reliability;

/// <summary>
/// Exists only in a fresh child process started by <see cref="FirstUseTests"/>: 16 threads, released together by a barrier,
/// make the process's very first calls — the backend registry, native library load and ABI check, the autotune cache — and
/// must all see one initialisation and one consistent answer.
/// </summary>
public class FirstUseChildTests
{
    public const string Variable = "SPARSENATIVE_FIRST_USE";
    private const int Threads = 16;

    [ChildProcessFact(Variable)]
    public void ManyThreadsMakingTheFirstCallSeeOneInitialisation()
    {
        SparseAttention.AutoTune = Environment.GetEnvironmentVariable(Variable) == "autotune";
        var s = new AttentionShape(1, 4, 2, 50, 50, 32);
        var layout = TestData.RandomLayout(16, s.QueryBlocks(16), s.KeyBlocks(16), 1, 0.7, 3);
        var (q, k, v) = TestData.Qkv(s, 3);
        var statuses = new NativeLibraryStatus[Threads];
        var backendLists = new IReadOnlyList<BackendInfo>[Threads];
        var outputs = new float[Threads][];
        var ran = new Backend[Threads];
        using var start = new Barrier(Threads);
        var threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            outputs[t] = new float[s.QueryElements];
            ran[t] = SparseAttention.Forward(q, k, v, outputs[t], s, layout);
            backendLists[t] = SparseAttention.Backends;
            statuses[t] = SparseNativeLibrary.Status;
        })).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) Assert.True(t.Join(TimeSpan.FromSeconds(60)), "a first caller did not finish: deadlock?");

        // One probe of the native library: every caller holds the same status object, loaded and ABI-checked.
        Assert.All(statuses, st => Assert.Same(statuses[0], st));
        Assert.True(statuses[0].IsLoaded, $"native library not loaded: {statuses[0].FailureReason}");
        Assert.All(backendLists, l => Assert.Equal(backendLists[0].Select(b => (b.Backend, b.IsAvailable)), l.Select(b => (b.Backend, b.IsAvailable))));

        var expected = new float[s.QueryElements];
        SparseAttention.Forward(q, k, v, expected, s, layout, new AttentionOptions { Backend = Backend.Reference });
        foreach (var o in outputs) Assert.True(TestData.RelativeError(o, expected) <= Tolerances.ForwardRelative);
        if (!SparseAttention.AutoTune)
        {
            // Without the tuner Auto is a fixed choice: every first caller ran the same backend and got the same bits.
            Assert.All(ran, r => Assert.Equal(ran[0], r));
            Assert.All(outputs, o => Assert.Equal(outputs[0], o));
        }
        else
        {
            // After the racing first calls the cache holds one winner: every later call, from any thread, runs it.
            var later = new Backend[Threads];
            Parallel.For(0, Threads, t => later[t] = SparseAttention.Forward(q, k, v, new float[s.QueryElements], s, layout));
            Assert.All(later, r => Assert.Equal(later[0], r));
        }
    }
}
