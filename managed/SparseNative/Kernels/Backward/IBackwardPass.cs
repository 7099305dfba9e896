namespace SparseNative.Kernels;

/// <summary>One of the two passes of the fused backward, as a struct so the JIT compiles each worker loop for it.</summary>
internal unsafe interface IBackwardPass
{
    /// <summary>Computes work item <paramref name="item"/> with this worker's scratch.</summary>
    static abstract void Process(BackwardJob job, int item, float* scratch);

    /// <summary>Rents the pass's item ids, most expensive first (return the array to the shared pool).</summary>
    static abstract int[] RentOrderByCost(BackwardJob job, out int count);
}
