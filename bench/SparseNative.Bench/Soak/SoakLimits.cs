namespace SparseNative.Bench.Soak;

/// <summary>
/// How much each resource may grow from the snapshot after the warm-up to the end, and why. The warm-up absorbs the
/// one-time costs (JIT and tier-1 code, the thread pool's ramp, native library loading, each thread's scratch reaching
/// the largest problem); after it, every call of the mix has been seen many times, so a steady state must stay flat.
/// </summary>
internal sealed record SoakLimit(string Resource, Func<ResourceSnapshot, long?> Value, Func<long, long> Allowed, string Why)
{
    public const long MiB = 1 << 20;

    public static IReadOnlyList<SoakLimit> All { get; } =
    [
        new("managed heap after full GC (bytes)", s => s.ManagedHeapBytes, b => Math.Max(b / 10, MiB),
            "+10% (at least 1 MiB): a leak of 100 bytes per call is 9 MB over 90,000 calls; the floor absorbs the layout cache's fill level"),
        new("GC heap size (bytes)", s => s.GcHeapSizeBytes, b => Math.Max(b / 10, MiB), "as the managed heap"),
        new("resident set (bytes)", s => s.RssBytes, b => b / 5,
            "+20%: the GC's committed memory alone swings by 10–30 MiB between snapshots (its budgets adapt); the next row judges the rest tightly"),
        new("resident set outside the GC heap (bytes)", s => s.RssOutsideGcBytes, b => Math.Max(b / 10, 8 * MiB),
            "+10% (at least 8 MiB): native memory and code; a native leak of 100 bytes per call is 9 MB over 90,000 calls"),
        new("open file descriptors", s => s.FileDescriptors, _ => 0, "none: nothing in a call opens a file or a handle"),
        new("OS threads outside the thread pool", s => s.OtherThreads, _ => 0,
            "none: the caller threads are fixed and a native worker pool is created once"),
        new("thread-pool threads", s => s.PoolThreads, _ => Environment.ProcessorCount,
            "+1 per core (a hill-climbing step); calls that blocked pool threads would make it grow without bound"),
        new("kernel scratch peak per thread (bytes)", s => s.ScratchPeakBytes, _ => 0,
            "none: scratch depends only on block size and head dimension, whose largest pair the warm-up draws many times"),
    ];

    /// <summary>Null when the value is not available on this system (not judged), else whether it stayed within the limit.</summary>
    public bool? Holds(ResourceSnapshot baseline, ResourceSnapshot end) =>
        Value(baseline) is { } b && Value(end) is { } e ? e - b <= Allowed(b) : null;
}
