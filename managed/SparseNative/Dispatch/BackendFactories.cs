using SparseNative.Kernels;

namespace SparseNative.Dispatch;

/// <summary>The backends beyond the reference that this build contains. Each entry constructs lazily and cheaply.</summary>
internal static class BackendFactories
{
    public static List<Func<AttentionBackend>> All() =>
    [
        () => new Avx512Backend(),
        () => new Avx2Backend(),
        () => new NeonBackend(),
        () => new PortableBackend(),
        () => new Native.NativeCpuBackend(),
        () => new Cuda.CudaBackend(),
    ];
}
