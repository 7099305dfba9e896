using System.Runtime.InteropServices;

namespace SparseNative.Kernels;

/// <summary>
/// One thread's working memory for the fused kernel: a single 64-byte-aligned native buffer, kept for the life of the
/// thread and grown only when a larger problem arrives. Reusing it matters more than it seems: on a cloud VM the
/// first touch of a fresh page costs about 11 µs, more than computing a whole 64 × 64 block.
/// </summary>
internal sealed unsafe class KernelScratch
{
    [ThreadStatic] private static KernelScratch? t_current;

    /// <summary>Native buffers this thread's scratch has allocated so far (tests check that steady-state calls add none).</summary>
    public long Allocations { get; private set; }

    private static long s_peakBytes;

    /// <summary>The largest scratch any one thread has held in this process, in bytes (the stress tests report it).</summary>
    public static long PeakBytes => Interlocked.Read(ref s_peakBytes);

    private float* _buffer;
    private long _capacity; // floats

    /// <summary>The calling thread's scratch (thread-pool threads live across calls, so this is reused).</summary>
    public static KernelScratch ForCurrentThread() => t_current ??= new KernelScratch();

    /// <summary>A buffer of at least <paramref name="floats"/> floats, 64-byte aligned; its contents are undefined.</summary>
    public float* Reserve(long floats)
    {
        if (floats > _capacity)
        {
            if (_buffer != null) NativeMemory.AlignedFree(_buffer);
            _buffer = null;
            _capacity = 0;
            _buffer = (float*)NativeMemory.AlignedAlloc((nuint)(floats * sizeof(float)), 64);
            _capacity = floats;
            Allocations++;
            long bytes = floats * sizeof(float), peak;
            while (bytes > (peak = Interlocked.Read(ref s_peakBytes)) && Interlocked.CompareExchange(ref s_peakBytes, bytes, peak) != peak) { }
        }
        return _buffer;
    }

    ~KernelScratch()
    {
        if (_buffer != null) NativeMemory.AlignedFree(_buffer);
    }
}
