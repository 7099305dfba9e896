using System.Diagnostics;
using SparseNative.Kernels;

namespace SparseNative.Bench.Soak;

/// <summary>
/// What a long run could leak, read between phases while no call is running: the managed heap after a full, compacting
/// collection, the process's resident memory, open file descriptors and OS threads (Linux /proc; null elsewhere), and the
/// managed kernels' per-thread scratch peak.
/// </summary>
internal sealed record ResourceSnapshot(
    string Label, long Calls, double Seconds, long ManagedHeapBytes, long GcHeapSizeBytes, long GcCommittedBytes, long AllocatedBytes,
    long? RssBytes, int? FileDescriptors, int? OsThreads, int PoolThreads, long ScratchPeakBytes, int Gen2Collections,
    IReadOnlySet<string> DescriptorTargets)
{
    public static ResourceSnapshot Take(string label, long calls, Stopwatch clock)
    {
        // Twice, with the finalizers between: scratch buffers of exited threads and dropped layouts are freed by finalizers.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        var gc = GC.GetGCMemoryInfo(GCKind.Any);
        var targets = DescriptorTargetsNow();
        return new ResourceSnapshot(label, calls, clock.Elapsed.TotalSeconds, GC.GetTotalMemory(false),
            gc.HeapSizeBytes, gc.TotalCommittedBytes, GC.GetTotalAllocatedBytes(precise: true),
            ResidentBytes(), Count("/proc/self/fd"), Count("/proc/self/task"), ThreadPool.ThreadCount,
            KernelScratch.PeakBytes, GC.CollectionCount(2), targets);
    }

    /// <summary>Resident memory the GC has not committed: native allocations (the C library, kernel scratch), code, stacks.</summary>
    public long? RssOutsideGcBytes => RssBytes - GcCommittedBytes;

    /// <summary>What each open descriptor points at (a file, a pipe, an anonymous inode), to name the ones that appeared.</summary>
    private static HashSet<string> DescriptorTargetsNow()
    {
        var set = new HashSet<string>();
        if (!Directory.Exists("/proc/self/fd")) return set;
        foreach (string fd in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            try { set.Add($"{Path.GetFileName(fd)} → {new FileInfo(fd).LinkTarget}"); }
            catch (IOException) { } // closed between the listing and the read
        }
        return set;
    }

    /// <summary>
    /// Waits (at most <paramref name="limit"/>) until the thread and descriptor counts are back to
    /// <paramref name="baseline"/>'s, and returns the time waited. The runtime's helpers come and go on their own (the
    /// tiered-compilation worker exits after a few idle seconds; the thread pool reads /proc now and then); a leaked
    /// thread or handle stays, so the end is judged once they have had a chance to go.
    /// </summary>
    public static TimeSpan Settle(ResourceSnapshot baseline, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < limit &&
               (Count("/proc/self/task") - ThreadPool.ThreadCount > baseline.OtherThreads || Count("/proc/self/fd") > baseline.FileDescriptors))
            Thread.Sleep(250);
        return clock.Elapsed;
    }

    /// <summary>OS threads that are not the .NET thread pool's: the pool may grow or shrink on its own; these must not grow.</summary>
    public int? OtherThreads => OsThreads - PoolThreads;

    /// <summary>VmRSS from /proc/self/status (kB there).</summary>
    private static long? ResidentBytes()
    {
        const string path = "/proc/self/status";
        if (!File.Exists(path)) return null;
        foreach (string line in File.ReadLines(path))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim()) * 1024;
        return null;
    }

    /// <summary>Entries of a /proc directory (the enumeration's own descriptor is counted each time alike).</summary>
    private static int? Count(string directory) =>
        Directory.Exists(directory) ? Directory.EnumerateFileSystemEntries(directory).Count() : null;
}
