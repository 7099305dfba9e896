using System.Diagnostics;
using SparseNative.Kernels;
using Xunit;

namespace SparseNative.Tests.Reliability;

/// <summary>
/// 16 threads mix Forward (every CPU backend, BHSD/BSHD, MaxThreads 1/3/all), ForwardSplitKeys, MergeStates, TopK and Routing
/// for a few seconds: every result must be bitwise equal to the same call run alone, and a watchdog fails the test if the
/// threads do not finish (a deadlock or a livelock in a shared cache or pool).
/// </summary>
public class ConcurrencyTests
{
    private const int Threads = 16;
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan Watchdog = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task ConcurrentCallsGiveTheSameBitsAsCallsRunAlone()
    {
        var calls = ConcurrentCalls.All();
        var alone = calls.Select(c => c.Run()).ToArray();
        long total = 0;
        var mismatches = new System.Collections.Concurrent.ConcurrentBag<string>();
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, Threads).Select(t => Task.Factory.StartNew(() =>
        {
            int i = t; // each thread starts at a different call, then walks the list
            while (clock.Elapsed < Duration && mismatches.IsEmpty)
            {
                int c = i++ % calls.Count;
                if (!calls[c].Run().AsSpan().SequenceEqual(alone[c])) mismatches.Add($"thread {t}: {calls[c].Name}");
                Interlocked.Increment(ref total);
            }
        }, TaskCreationOptions.LongRunning)).ToArray();

        var all = Task.WhenAll(workers);
        var finished = await Task.WhenAny(all, Task.Delay(Watchdog, TestContext.Current.CancellationToken));
        Assert.True(finished == all, $"{Threads} threads did not finish within {Watchdog.TotalSeconds} s ({Interlocked.Read(ref total)} calls done): deadlock?");
        await all; // rethrows a worker's exception
        Assert.True(mismatches.IsEmpty, $"results differ from the same call run alone:\n{string.Join("\n", mismatches.Take(10))}");
        Assert.True(total >= calls.Count, $"only {total} calls ran");
        TestContext.Current.SendDiagnosticMessage(
            $"{Threads} threads x {clock.Elapsed.TotalSeconds:F1} s: {total} calls over {calls.Count} kinds, 0 mismatches; " +
            $"peak per-thread kernel scratch {KernelScratch.PeakBytes / 1024.0:F1} KiB");
    }
}
