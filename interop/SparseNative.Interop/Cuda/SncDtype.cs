namespace SparseNative.Interop.Cuda;

/// <summary><c>snc_dtype</c> of sparse_native_cuda.h: the element type of q, k, v and out (lse is always float32).</summary>
public enum SncDtype
{
    /// <summary><c>SNC_DTYPE_F32</c>: float32, SIMT kernel.</summary>
    F32 = 0,

    /// <summary><c>SNC_DTYPE_F16</c>: IEEE binary16, tensor-core kernel with float32 accumulation.</summary>
    F16 = 1,

    /// <summary><c>SNC_DTYPE_BF16</c>: bfloat16, tensor-core kernel with float32 accumulation.</summary>
    BF16 = 2,
}
