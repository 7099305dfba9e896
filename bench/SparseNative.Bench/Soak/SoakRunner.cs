using System.Collections.Concurrent;
using System.Diagnostics;
using SparseNative.Bench.Common;
using SparseNative.Bench.Quick;
using static SparseNative.Bench.Quick.MarkdownReport;

namespace SparseNative.Bench.Soak;

/// <summary>
/// The <c>soak</c> command: a long, deterministic mix of calls from fixed caller threads, with resource snapshots before
/// the first call, after the warm-up, at checkpoints and at the end. Growth after the warm-up past a
/// <see cref="SoakLimit"/>, any exception other than a backend refusing a problem, or a sampled result that changes on a
/// second run or leaves the float64 reference fails the run (exit 1).
/// </summary>
internal sealed class SoakRunner
{
    private const int MaxFailuresShown = 20;

    /// <summary>Sampled results waiting for their second run: each is repeated this many sampled calls later, not at once, so the calls in between could disturb it.</summary>
    private const int RepeatDelay = 4;

    /// <summary>The last interval's allocation per call may be at most this multiple of the first interval's after the warm-up.</summary>
    private const double AllocationGrowthLimit = 1.5;

    private readonly SoakOptions _o;
    private readonly SoakCalls _calls;
    private readonly Stopwatch _clock = new();
    private readonly ConcurrentQueue<string> _failures = new();
    private readonly long[,] _kindCounts;
    private readonly long[,] _kindSkips;
    private readonly ConcurrentDictionary<string, byte> _skipReasons = new();
    private long _failureCount, _verified;
    private volatile bool _timeUp;
    private TimeSpan _settled;

    private SoakRunner(SoakOptions o)
    {
        _o = o;
        _calls = new SoakCalls(new SoakData(o.Seed));
        int kinds = Enum.GetValues<SoakKind>().Length;
        _kindCounts = new long[o.Threads, kinds];
        _kindSkips = new long[o.Threads, kinds];
    }

    public static int Run(SoakOptions o) => new SoakRunner(o).Run();

    private int Run()
    {
        var report = new MarkdownReport();
        if (MachineInfo.IsDebugBuild) report.Note("WARNING: Debug build: run with -c Release.");
        report.Line($"## SparseNative soak ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC)");
        report.Line();
        report.Line($"Machine: {MachineInfo.Summary()}. Load average (1/5/15 min) at start: {MachineInfo.LoadAverage()}.");
        report.Line($"{_o.Calls:N0} calls (seed {_o.Seed}) from {_o.Threads} caller thread(s); warm-up {_o.WarmupCalls:N0} calls; " +
                    $"1 call in {_o.VerifyEvery} repeated and compared bitwise{(_o.Seconds > 0 ? $"; time limit {_o.Seconds} s" : "")}.");
        report.Line($"Forward backends: {string.Join(", ", _calls.ForwardBackends)}; backward: {string.Join(", ", _calls.BackwardBackends)}.");
        foreach (var note in _calls.Notes) report.Note(note);

        var snapshots = RunPhases();
        WriteSnapshots(report, snapshots);
        WriteCalls(report);
        bool ok = WriteVerdict(report, snapshots);
        report.Line($"Load average at end: {MachineInfo.LoadAverage()}. Soak took {_clock.Elapsed.TotalSeconds:F0} s.");

        string markdown = report.Render();
        Console.Error.WriteLine();
        Console.Out.Write(markdown);
        if (_o.OutFile is { } path) File.WriteAllText(path, markdown);
        return ok ? 0 : 1;
    }

    /// <summary>Phase ends: the warm-up, the checkpoints spread evenly over the rest, the last call.</summary>
    private long[] PhaseEnds()
    {
        long w = _o.WarmupCalls, rest = _o.Calls - w;
        return [w, .. Enumerable.Range(1, _o.Checkpoints).Select(j => w + rest * j / (_o.Checkpoints + 1)).Where(e => e > w && e < _o.Calls), _o.Calls];
    }

    /// <summary>
    /// Fixed caller threads (started before the first snapshot, so they are in every count) run each phase between two
    /// barriers; the snapshot is taken while they wait. Thread t makes calls t, t + T, t + 2T, … of the phase.
    /// </summary>
    private List<ResourceSnapshot> RunPhases()
    {
        var ends = PhaseEnds().Distinct().ToArray();
        long phaseStart = 0, phaseEnd = 0;
        using var barrier = new Barrier(_o.Threads + 1);
        // Owned here, not by the threads, so every snapshot (the last included) sees them alive.
        var allBuffers = Enumerable.Range(0, _o.Threads).Select(_ => new SoakBuffers()).ToArray();
        var workers = Enumerable.Range(0, _o.Threads).Select(t => new Thread(() =>
        {
            var buffers = allBuffers[t];
            var pending = new Queue<(long Index, int[] Bits)>();
            for (int phase = 0; phase < ends.Length; phase++)
            {
                barrier.SignalAndWait();
                for (long i = phaseStart + Mod(t - phaseStart, _o.Threads); i < phaseEnd && !_timeUp; i += _o.Threads)
                {
                    Call(t, i, buffers, pending);
                    if (_o.Seconds > 0 && _clock.Elapsed.TotalSeconds > _o.Seconds) _timeUp = true;
                }
                if (phase == ends.Length - 1 || _timeUp)
                    while (pending.Count > 0) Repeat(pending.Dequeue(), buffers);
                barrier.SignalAndWait();
            }
            barrier.SignalAndWait(); // stay alive until the last snapshot is taken
        }) { IsBackground = true, Name = $"soak caller {t}" }).ToList();
        workers.ForEach(w => w.Start());

        var snapshots = new List<ResourceSnapshot> { ResourceSnapshot.Take("start", 0, _clock) };
        _clock.Start();
        for (int phase = 0; phase < ends.Length; phase++)
        {
            phaseStart = phaseEnd;
            phaseEnd = ends[phase];
            barrier.SignalAndWait();
            barrier.SignalAndWait();
            string label = _timeUp ? "end (time limit)" : phase == 0 ? "after warm-up" : phase == ends.Length - 1 ? "end" : $"checkpoint {phase}";
            long done = _timeUp ? CallsDone() : phaseEnd;
            if ((_timeUp || phase == ends.Length - 1) && phase > 0)
                _settled = ResourceSnapshot.Settle(snapshots[1], TimeSpan.FromSeconds(10));
            snapshots.Add(ResourceSnapshot.Take(label, done, _clock));
            Console.Error.WriteLine($"soak: {label}: {done:N0} calls, {_clock.Elapsed.TotalSeconds:F0} s, {Interlocked.Read(ref _failureCount)} failures");
            if (_timeUp)
            {
                // Let the workers pass the remaining barriers without calls.
                for (int rest = phase + 1; rest < ends.Length; rest++) { barrier.SignalAndWait(); barrier.SignalAndWait(); }
                break;
            }
        }
        _clock.Stop();
        barrier.SignalAndWait();
        workers.ForEach(w => w.Join());
        GC.KeepAlive(allBuffers);
        return snapshots;
    }

    private static long Mod(long a, int m) => ((a % m) + m) % m;

    private long CallsDone()
    {
        long n = 0;
        foreach (long c in _kindCounts) n += c;
        return n;
    }

    private void Call(int thread, long index, SoakBuffers buffers, Queue<(long, int[])> pending)
    {
        bool sampled = index % _o.VerifyEvery == 0;
        var rng = new Random(CallSeed(index));
        var kind = _calls.DrawKind(rng);
        _kindCounts[thread, (int)kind]++;
        try
        {
            _calls.Run(kind, rng, buffers, checkReference: sampled);
        }
        catch (BackendUnavailableException e)
        {
            // A backend that cannot run a drawn problem (e.g. a head dimension it does not take) is not a fault.
            _kindSkips[thread, (int)kind]++;
            _skipReasons.TryAdd($"{kind}: {e.Message}", 0);
            return;
        }
        catch (Exception e)
        {
            Fail($"call {index} ({kind}): {e.GetType().Name}: {e.Message}");
            return;
        }
        if (!sampled) return;
        pending.Enqueue((index, buffers.Result.Bits.ToArray()));
        if (pending.Count > RepeatDelay) Repeat(pending.Dequeue(), buffers);
    }

    /// <summary>Runs a sampled call again and compares its bits with the first run's.</summary>
    private void Repeat((long Index, int[] Bits) first, SoakBuffers buffers)
    {
        var rng = new Random(CallSeed(first.Index));
        var kind = _calls.DrawKind(rng);
        try
        {
            _calls.Run(kind, rng, buffers, checkReference: false);
        }
        catch (Exception e)
        {
            Fail($"call {first.Index} ({kind}) repeated: {e.GetType().Name}: {e.Message}");
            return;
        }
        var again = buffers.Result.Bits;
        if (again.SequenceEqual(first.Bits))
        {
            Interlocked.Increment(ref _verified);
            return;
        }
        int at = again.CommonPrefixLength(first.Bits);
        Fail($"call {first.Index} ({kind}) repeated: result differs from its first run at element {at} of {first.Bits.Length}");
    }

    private void Fail(string message)
    {
        if (Interlocked.Increment(ref _failureCount) <= MaxFailuresShown) _failures.Enqueue(message);
    }

    /// <summary>The seed of call <paramref name="index"/>: a SplitMix64 step of the run's seed and the index.</summary>
    private int CallSeed(long index)
    {
        ulong z = (ulong)_o.Seed * 0x9E3779B97F4A7C15UL + (ulong)index + 1;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return (int)(z ^ (z >> 31));
    }

    private static string Mib(long? bytes) => bytes is { } b ? F(b / (double)SoakLimit.MiB, 2) : "n/a";

    private static string N(long? v) => v?.ToString() ?? "n/a";

    private static void WriteSnapshots(MarkdownReport report, List<ResourceSnapshot> snapshots)
    {
        report.Line();
        report.Line("Resources (each after a full blocking, compacting GC; allocation per call since the previous snapshot):");
        report.Line();
        report.Header("snapshot", "calls", "s", "managed heap MiB", "GC heap MiB", "GC committed MiB", "allocated per call (bytes)", "RSS MiB",
            "open fds", "OS threads", "pool threads", "scratch peak KiB", "gen-2 GCs");
        ResourceSnapshot? previous = null;
        foreach (var s in snapshots)
        {
            string perCall = previous is null || s.Calls == previous.Calls ? "—"
                : F((s.AllocatedBytes - previous.AllocatedBytes) / (double)(s.Calls - previous.Calls), 0);
            report.Row(s.Label, s.Calls.ToString("N0"), F(s.Seconds, 0), Mib(s.ManagedHeapBytes), Mib(s.GcHeapSizeBytes), Mib(s.GcCommittedBytes), perCall,
                Mib(s.RssBytes), N(s.FileDescriptors), N(s.OsThreads), s.PoolThreads.ToString(), F(s.ScratchPeakBytes / 1024.0, 1),
                s.Gen2Collections.ToString());
            previous = s;
        }
        report.Line();
    }

    private void WriteCalls(MarkdownReport report)
    {
        report.Line("Calls by kind (skipped: a backend refused the drawn problem with BackendUnavailableException):");
        report.Line();
        report.Header("kind", "calls", "skipped");
        foreach (var kind in Enum.GetValues<SoakKind>())
        {
            long n = 0, skipped = 0;
            for (int t = 0; t < _o.Threads; t++) { n += _kindCounts[t, (int)kind]; skipped += _kindSkips[t, (int)kind]; }
            if (n > 0) report.Row(kind.ToString(), n.ToString("N0"), skipped.ToString("N0"));
        }
        report.Line();
        foreach (string reason in _skipReasons.Keys.Order().Take(10)) report.Note($"skipped: {reason}");
    }

    private bool WriteVerdict(MarkdownReport report, List<ResourceSnapshot> snapshots)
    {
        bool ok = true;
        int warm = snapshots.FindIndex(s => s.Label == "after warm-up");
        if (warm < 0)
        {
            report.Note("FAIL: the run stopped before the warm-up finished; growth is not judged.");
            ok = false;
        }
        else
        {
            ResourceSnapshot baseline = snapshots[warm], end = snapshots[^1];
            report.Line($"Growth from after the warm-up ({baseline.Calls:N0} calls) to the end ({end.Calls:N0} calls; the end waited " +
                        $"{_settled.TotalSeconds:F1} s, at most 10, for transient runtime threads and descriptors to go):");
            report.Line();
            report.Header("resource", "after warm-up", "end", "change", "allowed", "result", "limit and why");
            foreach (var limit in SoakLimit.All)
            {
                long? b = limit.Value(baseline), e = limit.Value(end);
                bool? holds = limit.Holds(baseline, end);
                ok &= holds != false;
                report.Row(limit.Resource, N(b), N(e), b is { } x && e is { } y ? (y - x).ToString("+#;-#;0") : "n/a",
                    b is { } x2 ? "+" + limit.Allowed(x2) : "n/a", holds switch { true => "ok", false => "FAIL", null => "not measured" }, limit.Why);
            }
            ok &= AllocationStable(report, snapshots, warm);
            report.Line();
            // Named only when the count grew: a rebuilt file that stays open changes its target ("(deleted)") but is no leak.
            if (end.FileDescriptors > baseline.FileDescriptors)
                foreach (string fd in end.DescriptorTargets.Except(baseline.DescriptorTargets).Order())
                    report.Note($"descriptor open at the end, not after the warm-up: {fd}");
        }

        long failures = Interlocked.Read(ref _failureCount);
        report.Line($"Sampled results repeated and bitwise equal: {Interlocked.Read(ref _verified):N0}; forward samples also within " +
                    $"{SoakCalls.ReferenceTolerance:0e0} of the float64 reference. Failures: {failures}.");
        report.Line();
        foreach (string f in _failures) report.Note($"FAIL: {f}");
        if (failures > MaxFailuresShown) report.Note($"… and {failures - MaxFailuresShown} more failures.");
        ok &= failures == 0 && Interlocked.Read(ref _verified) > 0;
        report.Line(ok ? "Result: PASS." : "Result: FAIL.");
        report.Line();
        return ok;
    }

    /// <summary>Allocation per call in the last interval against the first after the warm-up: a structure that grows and is copied on every call shows here first.</summary>
    private static bool AllocationStable(MarkdownReport report, List<ResourceSnapshot> s, int warm)
    {
        if (s.Count - warm < 3)
        {
            report.Row("allocated per call", "—", "—", "—", "—", "not measured", "needs at least one checkpoint");
            return true;
        }
        double PerCall(int i) => (s[i].AllocatedBytes - s[i - 1].AllocatedBytes) / (double)Math.Max(1, s[i].Calls - s[i - 1].Calls);
        double first = PerCall(warm + 1), last = PerCall(s.Count - 1);
        bool holds = last <= AllocationGrowthLimit * first;
        report.Row("allocated per call (bytes)", F(first, 0), F(last, 0), F(last - first, 0), $"×{AllocationGrowthLimit}",
            holds ? "ok" : "FAIL", $"last interval ≤ {AllocationGrowthLimit}× the first after the warm-up: the mix is the same in every interval, so its garbage per call is too");
        return holds;
    }
}
