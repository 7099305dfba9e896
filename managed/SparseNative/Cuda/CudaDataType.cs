namespace SparseNative.Cuda;

/// <summary>Element type of a <see cref="CudaBuffer"/>. The values are the C library's <c>snc_dtype</c>.</summary>
public enum CudaDataType
{
    /// <summary>IEEE float32: the SIMT kernel, head dims that are multiples of 8 up to 256, every block size.</summary>
    Float32 = 0,

    /// <summary>IEEE binary16 (<see cref="Half"/>): tensor-core kernel with float32 accumulation; head dim 64 or 128, block 64 or 128.</summary>
    Float16 = 1,

    /// <summary>bfloat16 (raw 16-bit patterns): tensor-core kernel with float32 accumulation; head dim 64 or 128, block 64 or 128.</summary>
    BFloat16 = 2,
}

internal static class CudaDataTypeExtensions
{
    public static int ElementSize(this CudaDataType t) => t == CudaDataType.Float32 ? 4 : 2;
}
