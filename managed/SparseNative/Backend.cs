namespace SparseNative;

/// <summary>The implementations of attention that SparseNative can run.</summary>
public enum Backend
{
    /// <summary>Let the dispatcher pick the fastest available backend (see <see cref="SparseAttention.Describe"/>).</summary>
    Auto = 0,

    /// <summary>Float64-accumulating reference: slow, obviously correct, the oracle every other backend is tested against.</summary>
    Reference,

    /// <summary>C# kernels on <c>Vector128</c>: accelerated on every x64 and arm64 CPU.</summary>
    Portable,

    /// <summary>C# kernels on <c>Vector256</c> with FMA (x64 with AVX2).</summary>
    Avx2,

    /// <summary>C# kernels on <c>Vector512</c> (x64 with AVX-512 where 512-bit vectors are accelerated).</summary>
    Avx512,

    /// <summary>C# kernels on Arm AdvSimd (NEON), arm64.</summary>
    Neon,

    /// <summary>The native C library <c>libsparsenative</c>, through P/Invoke.</summary>
    NativeCpu,

    /// <summary>The native CUDA library <c>libsparsenative_cuda</c>, through P/Invoke (NVIDIA GPUs).</summary>
    Cuda,
}
