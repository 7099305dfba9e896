namespace SparseNative.Interop;

/// <summary>Status codes returned by the native libraries (<c>enum sn_status_code</c> in sparse_native.h, plus the CUDA
/// library's <c>SNC_CUDA_ERROR</c>).</summary>
public enum SnStatus
{
    /// <summary>Success (<c>SN_OK</c>).</summary>
    Ok = 0,

    /// <summary>A null pointer, a size &lt;= 0, an overflowing shape, an unknown format or flag, non-dividing
    /// heads, a non-finite scale or overlapping buffers (<c>SN_INVALID_ARGUMENT</c>).</summary>
    InvalidArgument = 1,

    /// <summary>The block layout is inconsistent: block size, block counts, offsets or columns
    /// (<c>SN_INVALID_LAYOUT</c>).</summary>
    InvalidLayout = 2,

    /// <summary>Valid by the contract but not by the native kernels, e.g. head_dim not a multiple of 8
    /// (<c>SN_UNSUPPORTED</c>).</summary>
    Unsupported = 3,

    /// <summary>Scratch memory could not be allocated (<c>SN_OUT_OF_MEMORY</c>).</summary>
    OutOfMemory = 4,

    /// <summary>A bug in the native library (<c>SN_INTERNAL</c>).</summary>
    Internal = 5,

    /// <summary>A buffer length is smaller than the shape requires (<c>SN_BUFFER_TOO_SMALL</c>).</summary>
    BufferTooSmall = 6,

    /// <summary>NaN or infinity in the inputs while checking is on (<c>SN_NON_FINITE</c>).</summary>
    NonFinite = 7,

    /// <summary>A CUDA runtime call failed: no driver, device lost, launch failure, or an error raised by an earlier
    /// asynchronous kernel; only the CUDA library returns it (<c>SNC_CUDA_ERROR</c> in sparse_native_cuda.h).</summary>
    CudaError = 100,
}

/// <summary>Tensor memory formats (<c>enum sn_format</c>).</summary>
public enum SnFormat
{
    /// <summary>[batch, heads, sequence, head_dim] (<c>SN_FORMAT_BHSD</c>).</summary>
    Bhsd = 0,

    /// <summary>[batch, sequence, heads, head_dim], as ONNX Runtime and most exporters (<c>SN_FORMAT_BSHD</c>).</summary>
    Bshd = 1,
}

/// <summary>Element types of the tensors (<c>enum sn_dtype</c>; the same values as the CUDA library's <c>snc_dtype</c>).</summary>
public enum SnDtype
{
    /// <summary>IEEE float32 (<c>SN_DTYPE_F32</c>).</summary>
    F32 = 0,

    /// <summary>IEEE binary16 (<c>SN_DTYPE_F16</c>).</summary>
    F16 = 1,

    /// <summary>bfloat16, the upper 16 bits of a float32 (<c>SN_DTYPE_BF16</c>).</summary>
    BF16 = 2,
}

/// <summary>Option bits of <see cref="SnProblem.Flags"/> (<c>enum sn_flags</c>).</summary>
[Flags]
public enum SnFlags
{
    /// <summary>No options.</summary>
    None = 0,

    /// <summary>Bottom-right causal mask: key j is visible to query i only if j &lt;= i + (Lk - Lq)
    /// (<c>SN_FLAG_CAUSAL</c>).</summary>
    Causal = 1,

    /// <summary>Skip the NaN/infinity scan of the inputs; results for such inputs are then unspecified
    /// (<c>SN_FLAG_ALLOW_NON_FINITE</c>).</summary>
    AllowNonFinite = 2,
}

/// <summary>Struct identifiers for <c>sn_struct_layout</c> (<c>enum sn_struct_id</c>).</summary>
public enum SnStructId
{
    /// <summary><see cref="SnLayout"/> (<c>SN_STRUCT_LAYOUT</c>).</summary>
    Layout = 1,

    /// <summary><see cref="SnProblem"/> (<c>SN_STRUCT_PROBLEM</c>).</summary>
    Problem = 2,
}
