using System.Collections.Concurrent;
using System.Diagnostics;

namespace SparseNative.Dispatch;

/// <summary>
/// The opt-in measuring mode (like cuDNN's benchmark mode): the first call of each problem signature times every
/// candidate backend once on the caller's own data and remembers the fastest; later calls with that signature go
/// straight to it. The first call costs one run per candidate and, unless the winner ran last, one more run of the
/// winner: the output always holds the result of the backend the call returns, bitwise what later calls give.
/// </summary>
internal static class BackendTuner
{
    /// <summary>What the choice depends on. Layout identity is not part of it: block size and density are, coarsely.</summary>
    internal readonly record struct Signature(AttentionShape Shape, int BlockSize, int DensityPercentBucket, bool Causal,
        TensorFormat Format, bool Segments, bool Lse, int Threads, Elements.TensorTypes Types);

    private static readonly ConcurrentDictionary<Signature, Backend> s_winners = new();

    public static Signature SignatureOf(in AttentionProblem p) => new(p.Shape, p.Layout.BlockSize,
        // Buckets of 10 percentage points: a kernel's relative speed changes slowly with density.
        (int)(p.Layout.Density * 10), p.Causal, p.Format, p.HasSegments, p.HasLogSumExp, p.Threads, p.Types);

    /// <summary>The cached winner for this signature, or measures the candidates (running the problem) and caches it.</summary>
    public static Backend RunTuned(in AttentionProblem problem)
    {
        var sig = SignatureOf(problem);
        if (s_winners.TryGetValue(sig, out var known))
        {
            BackendRegistry.Get(known)!.Forward(problem);
            return known;
        }
        Backend best = Backend.Reference, last = Backend.Reference;
        double bestSeconds = double.PositiveInfinity;
        foreach (var kind in BackendRegistry.AutoOrderFor(problem.Types))
        {
            // The reference is only a candidate when nothing else runs: it is never the fastest.
            if (kind == Backend.Reference && !double.IsPositiveInfinity(bestSeconds)) continue;
            var b = BackendRegistry.Get(kind);
            if (b is null || b.UnavailableReason is not null || !b.SupportsTypes(problem.Types, out _) || !b.Supports(problem, out _)) continue;
            long start = Stopwatch.GetTimestamp();
            b.Forward(problem);
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            SparseAttention.Trace($"tuning {sig}: {kind} took {seconds * 1e3:F3} ms");
            if (seconds < bestSeconds) { bestSeconds = seconds; best = kind; }
            last = kind;
        }
        // The output holds the last candidate's result; the caller is told the winner, so the winner's result it must be.
        if (last != best) BackendRegistry.Get(best)!.Forward(problem);
        s_winners[sig] = best;
        SparseAttention.Trace($"tuning {sig}: chose {best}");
        return best;
    }

    public static void Clear() => s_winners.Clear();
}
