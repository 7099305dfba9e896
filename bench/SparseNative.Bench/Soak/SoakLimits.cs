namespace SparseNative.Bench.Soak;

/// <summary>
/// How much each resource may grow from the snapshot after the warm-up to the end, and why. The warm-up absorbs the
/// one-time costs (JIT and tier-1 code, the thread pool's ramp, native library loading, each thread's scratch reaching
/// the largest problem); after it, every call of the mix has been seen many times, so a steady state must stay flat.
/// The resident set is judged in its two parts, the GC's committed memory and the rest (native memory, code, stacks):
/// the first swings with the GC's budgets by more than any fixed share of the total, the second must not move. The GC's
/// heap size (live objects plus the fragmentation of the last collection) is reported, not judged, for the same reason.
/// </summary>
internal sealed record SoakLimit(string Resource, Func<ResourceSnapshot, long?> Value, Func<long, long> Allowed, string Why)
{
    public const long MiB = 1 << 20;

    public static IReadOnlyList<SoakLimit> All { get; } =
    [
        new("managed heap after full GC (bytes)", s => s.ManagedHeapBytes, b => Math.Max(b / 10, MiB),
            "+10% (at least 1 MiB): a leak of 100 bytes per call is 9 MB over 90,000 calls; the floor absorbs the layout cache's fill level"),
        new("GC committed memory (bytes)", s => s.GcCommittedBytes, b => Math.Max(b, 64 * MiB),
            "+100% (at least 64 MiB): the GC sizes its budgets to the allocation rate and keeps freed regions for reuse, so this swings by tens of MiB; a managed leak shows in the live heap above, runaway fragmentation here"),
        new("resident set outside the GC heap (bytes)", s => s.RssOutsideGcBytes, b => Math.Max(b / 10, 8 * MiB),
            "+10% (at least 8 MiB): native memory and code; a native leak of 100 bytes per call is 9 MB over 90,000 calls"),
        new("open file descriptors", s => s.FileDescriptors, _ => 0, "none: nothing in a call opens a file or a handle"),
        new("OS threads outside the thread pool", s => s.OtherThreads, _ => 0,
            "none: the caller threads are fixed and a native worker pool is created once"),
        new("thread-pool threads", s => s.PoolThreads, _ => 8,
            "+8: the pool injects a few threads at a time (hill climbing, starvation) and retires idle ones; calls that blocked pool threads would add hundreds"),
        new("kernel scratch peak per thread (bytes)", s => s.ScratchPeakBytes, _ => 0,
            "none: scratch depends only on block size and head dimension, whose largest pair the warm-up draws many times"),
    ];

    /// <summary>Null when the value is not available on this system (not judged), else whether it stayed within the limit.</summary>
    public bool? Holds(ResourceSnapshot baseline, ResourceSnapshot end) =>
        Value(baseline) is { } b && Value(end) is { } e ? e - b <= Allowed(b) : null;
}
