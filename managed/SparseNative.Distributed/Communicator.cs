using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using SparseNative.Distributed.Mpi;

namespace SparseNative.Distributed;

/// <summary>
/// The processes of an MPI job (MPI_COMM_WORLD of Open MPI), and the only place this package talks to MPI.
/// Every wait is non-blocking with a deadline (<see cref="Timeout"/>): a rank that died or stopped participating makes
/// the others throw <see cref="DistributedTimeoutException"/> after that long, never wait forever. A communicator that
/// has timed out is broken: disposing it calls MPI_Abort (ending the job, with the message on standard error) instead
/// of MPI_Finalize, which would wait for the missing rank.
/// </summary>
/// <remarks>MPI is called only from the thread that created the communicator (MPI_THREAD_SERIALIZED is requested);
/// the attention kernels' own threads never call MPI.</remarks>
public sealed unsafe class Communicator : IDisposable
{
    private static Communicator? _world;
    private readonly nint _comm;
    private bool _disposed;
    private string? _broken;
    private readonly List<float[]> _held = [];

    private Communicator(nint comm, int rank, int size)
    {
        _comm = comm;
        Rank = rank;
        Size = size;
    }

    /// <summary>This process's rank, 0 ≤ Rank &lt; Size.</summary>
    public int Rank { get; }

    /// <summary>The number of processes.</summary>
    public int Size { get; }

    /// <summary>The longest any one exchange may wait for another rank (default 60 s; also <c>SPARSENATIVE_MPI_TIMEOUT_S</c>).</summary>
    public TimeSpan Timeout { get; set; } = DefaultTimeout();

    /// <summary>Initialises MPI (once per process) and returns the world communicator.</summary>
    /// <exception cref="DistributedException">Open MPI's library cannot be loaded or initialised.</exception>
    public static Communicator World()
    {
        if (_world is { _disposed: false }) return _world;
        if (_world is not null) throw new InvalidOperationException("MPI was finalized in this process; it cannot be initialised again.");
        MpiLibrary.EnsureLoaded();
        Check(MpiNative.Initialized(out int initialized), "MPI_Initialized");
        if (initialized == 0)
            Check(MpiNative.InitThread(0, 0, MpiNative.ThreadSerialized, out _), "MPI_Init_thread");
        nint world = MpiLibrary.CommWorld;
        Check(MpiNative.CommSetErrhandler(world, MpiLibrary.ErrorsReturn), "MPI_Comm_set_errhandler");
        Check(MpiNative.CommRank(world, out int rank), "MPI_Comm_rank");
        Check(MpiNative.CommSize(world, out int size), "MPI_Comm_size");
        return _world = new Communicator(world, rank, size);
    }

    /// <summary>Ends the whole job now (MPI_Abort), after writing <paramref name="message"/> to standard error.</summary>
    public void Abort(string message, int errorCode = 1)
    {
        Console.Error.WriteLine($"rank {Rank}: {message}");
        Console.Error.Flush();
        MpiNative.Abort(_comm, errorCode);
        Environment.Exit(errorCode); // MPI_Abort does not return; this is for an MPI that does.
    }

    /// <summary>MPI_Finalize; or, after a timeout, MPI_Abort (the job cannot finish cleanly without the missing rank).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        if (_broken is not null) Abort(_broken);
        _disposed = true;
        MpiNative.Finalized(out int finalized);
        if (finalized == 0) MpiNative.Finalize();
    }

    // ---- the operations the attention needs -------------------------------------------------------------------

    /// <summary>Keeps a buffer of pending transfers alive; a broken communicator keeps them for good (until the abort).</summary>
    internal void Hold(float[] buffer) => _held.Add(buffer);

    /// <summary>Marks the communicator unusable (Dispose then aborts the job) for <paramref name="reason"/>.</summary>
    internal void Break(string reason) => _broken ??= reason;

    /// <summary>The step's transfers are all complete: its buffers may go.</summary>
    internal void ReleaseHeld()
    {
        if (_broken is null) _held.Clear();
    }

    /// <summary>Element-wise minimum and maximum over all ranks of <paramref name="values"/>, with the deadline.</summary>
    internal (long[] Min, long[] Max) MinMax(ReadOnlySpan<long> values, string what)
    {
        var send = values.ToArray();
        var min = new long[send.Length];
        var max = new long[send.Length];
        fixed (long* s = send, lo = min, hi = max)
        {
            var requests = stackalloc nint[2];
            Check(MpiNative.Iallreduce(s, lo, send.Length, MpiLibrary.Int64, MpiLibrary.OpMin, _comm, out requests[0]), "MPI_Iallreduce");
            Check(MpiNative.Iallreduce(s, hi, send.Length, MpiLibrary.Int64, MpiLibrary.OpMax, _comm, out requests[1]), "MPI_Iallreduce");
            WaitAll(new Span<nint>(requests, 2), what, null);
        }
        return (min, max);
    }

    /// <summary>Posts a receive of <paramref name="count"/> floats at <paramref name="buffer"/> (pinned by the caller).</summary>
    internal nint Receive(float* buffer, int count, int source, int tag)
    {
        Check(MpiNative.Irecv(buffer, count, MpiLibrary.Float, source, tag, _comm, out nint request), "MPI_Irecv");
        return request;
    }

    /// <summary>Posts a send of <paramref name="count"/> floats at <paramref name="buffer"/> (pinned by the caller).</summary>
    internal nint Send(float* buffer, int count, int dest, int tag)
    {
        Check(MpiNative.Isend(buffer, count, MpiLibrary.Float, dest, tag, _comm, out nint request), "MPI_Isend");
        return request;
    }

    /// <summary>Posts an all-to-all of floats (counts and offsets in elements).</summary>
    internal nint AllToAll(float* send, int[] sendCounts, int[] sendOffsets, float* receive, int[] receiveCounts, int[] receiveOffsets)
    {
        fixed (int* sc = sendCounts, so = sendOffsets, rc = receiveCounts, ro = receiveOffsets)
        {
            Check(MpiNative.Ialltoallv(send, sc, so, MpiLibrary.Float, receive, rc, ro, MpiLibrary.Float, _comm, out nint request),
                "MPI_Ialltoallv");
            return request;
        }
    }

    /// <summary>
    /// Waits for every request, polling MPI (which is also what moves the data: Open MPI progresses only inside its calls)
    /// until done, until <paramref name="background"/> (work overlapped with the transfer) has finished as well, or until
    /// the deadline, which breaks the communicator and throws. Returns the time waited after the background work ended.
    /// </summary>
    internal TimeSpan WaitAll(Span<nint> requests, string what, Task? background)
    {
        ThrowIfBroken();
        var clock = Stopwatch.StartNew();
        int idle = 0;
        fixed (nint* r = requests)
        {
            while (true)
            {
                int done = 1;
                if (requests.Length > 0) Check(MpiNative.Testall(requests.Length, r, out done, MpiNative.StatusIgnore), "MPI_Testall");
                bool backgroundDone = background is null || background.IsCompleted;
                if (done != 0 && backgroundDone) break;
                if (!backgroundDone)
                {
                    // The deadline counts from the end of this rank's own work; poll every millisecond meanwhile.
                    clock.Restart();
                    Thread.Sleep(1);
                    continue;
                }
                if (done == 0 && clock.Elapsed > Timeout && backgroundDone)
                {
                    _broken = $"{what}: not complete after {Timeout.TotalSeconds:0.#} s (a rank has died or stopped taking part); the job cannot continue";
                    throw new DistributedTimeoutException($"rank {Rank}: {_broken}.");
                }
                // Spin briefly for latency, then yield the core: ranks may share cores (mpirun --oversubscribe).
                if (++idle > 64) Thread.Sleep(idle > 4096 ? 1 : 0);
            }
        }
        background?.GetAwaiter().GetResult();
        return clock.Elapsed; // since this rank's own work ended
    }

    private void ThrowIfBroken()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_broken is not null) throw new DistributedTimeoutException($"rank {Rank}: {_broken}.");
    }

    private static void Check(int code, string function)
    {
        if (code == MpiNative.Success) return;
        throw new DistributedException($"{function} failed: {ErrorText(code)} (MPI error {code}).");
    }

    private static string ErrorText(int code)
    {
        var text = stackalloc byte[512]; // MPI_MAX_ERROR_STRING is 256 in Open MPI
        return MpiNative.ErrorString(code, text, out int length) == MpiNative.Success
            ? Encoding.ASCII.GetString(text, Math.Clamp(length, 0, 512)) : "unknown error";
    }

    private static TimeSpan DefaultTimeout() =>
        double.TryParse(Environment.GetEnvironmentVariable("SPARSENATIVE_MPI_TIMEOUT_S"), System.Globalization.CultureInfo.InvariantCulture, out double s) && s > 0
            ? TimeSpan.FromSeconds(s) : TimeSpan.FromSeconds(60);
}

/// <summary>An MPI operation failed (the message has MPI's error text).</summary>
public class DistributedException(string message) : Exception(message);

/// <summary>Another rank did not take part in an exchange within <see cref="Communicator.Timeout"/>.</summary>
public sealed class DistributedTimeoutException(string message) : DistributedException(message);
