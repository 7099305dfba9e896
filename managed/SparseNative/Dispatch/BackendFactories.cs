namespace SparseNative;

/// <summary>The backends beyond the reference that this build contains. Each entry constructs lazily and cheaply.</summary>
internal static class BackendFactories
{
    public static List<Func<AttentionBackend>> All() =>
    [
        () => new Cuda.CudaBackend(),
    ];
}
