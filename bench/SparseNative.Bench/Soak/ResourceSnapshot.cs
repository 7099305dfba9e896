using System.Diagnostics;
using SparseNative.Kernels;

namespace SparseNative.Bench.Soak;

/// <summary>
/// What a long run could leak, read between phases while no call is running: the managed heap after a full, compacting
/// collection, the process's resident memory, open file descriptors and OS threads (Linux /proc; null elsewhere), and the
/// managed kernels' per-thread scratch peak.
/// </summary>
internal sealed record ResourceSnapshot(
    string Label, long Calls, double Seconds, long ManagedHeapBytes, long GcHeapSizeBytes, long AllocatedBytes,
    long? RssBytes, int? FileDescriptors, int? OsThreads, int PoolThreads, long ScratchPeakBytes, int Gen2Collections)
{
    public static ResourceSnapshot Take(string label, long calls, Stopwatch clock)
    {
        // Twice, with the finalizers between: scratch buffers of exited threads and dropped layouts are freed by finalizers.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        return new ResourceSnapshot(label, calls, clock.Elapsed.TotalSeconds, GC.GetTotalMemory(false),
            GC.GetGCMemoryInfo(GCKind.Any).HeapSizeBytes, GC.GetTotalAllocatedBytes(precise: true),
            ResidentBytes(), Count("/proc/self/fd"), Count("/proc/self/task"), ThreadPool.ThreadCount,
            KernelScratch.PeakBytes, GC.CollectionCount(2));
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
