using System.Buffers;

namespace SparseNative.Kernels;

/// <summary>The independent work items of one fused-kernel call (or one pass of it), as a struct so the JIT compiles the worker loop for each.</summary>
internal unsafe interface IWorkItems
{
    /// <summary>Floats of scratch one worker needs.</summary>
    long ScratchFloats { get; }

    /// <summary>Computes item <paramref name="item"/> with this worker's scratch.</summary>
    void Process(int item, float* scratch);

    /// <summary>Rents the item ids, most expensive first; <see cref="WorkItems.Run"/> returns the array to the shared pool.</summary>
    int[] RentOrderByCost(out int count);
}

/// <summary>
/// Runs the work items of a call: in index order on the calling thread when one thread is enough, else on worker threads
/// that take items, most expensive first, from a shared atomic counter. Each item is computed by exactly one thread with
/// fixed arithmetic, so the result is bitwise the same for any thread count.
/// </summary>
internal static unsafe class WorkItems
{
    /// <summary>Below this many active (query, key) block pairs per extra thread a call runs on fewer threads: waking workers costs more.</summary>
    private const long MinBlocksPerExtraThread = 8;

    /// <summary>The threads worth using for <paramref name="blockPairs"/> active block pairs, at most <paramref name="maxThreads"/>.</summary>
    public static int Threads(int maxThreads, long blockPairs) =>
        (int)Math.Min(maxThreads, Math.Max(1, blockPairs / MinBlocksPerExtraThread));

    /// <summary>Runs items <c>0 … items − 1</c> of <paramref name="work"/> on up to <paramref name="threads"/> threads.</summary>
    public static void Run<TItems>(TItems work, int items, int threads) where TItems : struct, IWorkItems
    {
        threads = Math.Min(threads, items);
        if (threads <= 1)
        {
            float* scratch = KernelScratch.ForCurrentThread().Reserve(work.ScratchFloats);
            for (int item = 0; item < items; item++) work.Process(item, scratch);
            return;
        }
        var queue = new Queue<TItems>(work);
        try
        {
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ => queue.Drain());
        }
        finally
        {
            ArrayPool<int>.Shared.Return(queue.Order);
        }
    }

    private sealed class Queue<TItems> where TItems : struct, IWorkItems
    {
        public readonly int[] Order;
        private readonly TItems _work;
        private readonly int _count;
        private int _next;

        public Queue(TItems work)
        {
            _work = work;
            Order = work.RentOrderByCost(out _count);
        }

        public void Drain()
        {
            float* scratch = KernelScratch.ForCurrentThread().Reserve(_work.ScratchFloats);
            int next;
            while ((next = Interlocked.Increment(ref _next) - 1) < _count) _work.Process(Order[next], scratch);
        }
    }
}
