using System.Runtime.InteropServices;

namespace SparseNative.Cuda;

// Mirrors of sparse_native.h's sn_problem and sn_layout (blittable, sequential: int32 fields, then pointers),
// and its status codes. The CPU library's loader checks these layouts against sn_struct_layout(); the CUDA
// library takes the same structs, and its own ABI version is checked at load (CudaLibrary).

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct SnProblem
{
    public int Batch, QueryHeads, KvHeads, QueryLength, KeyLength, HeadDim, Format, Flags;
    public float Scale;
    public int NumThreads;
    public int* QuerySegmentIds;
    public int* KeySegmentIds;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct SnLayout
{
    public int BlockSize, QueryBlocks, KeyBlocks, NumLayouts, NumColIndices, Reserved;
    public int* RowOffsets;
    public int* ColIndices;
}

internal static class SnStatus
{
    public const int Ok = 0, InvalidArgument = 1, InvalidLayout = 2, Unsupported = 3, OutOfMemory = 4, Internal = 5,
        BufferTooSmall = 6, NonFinite = 7, CudaError = 100;
    public const int FlagCausal = 1, FlagAllowNonFinite = 2;

    public static string Name(int status) => status switch
    {
        Ok => "SN_OK",
        InvalidArgument => "SN_INVALID_ARGUMENT",
        InvalidLayout => "SN_INVALID_LAYOUT",
        Unsupported => "SN_UNSUPPORTED",
        OutOfMemory => "SN_OUT_OF_MEMORY",
        Internal => "SN_INTERNAL",
        BufferTooSmall => "SN_BUFFER_TOO_SMALL",
        NonFinite => "SN_NON_FINITE",
        CudaError => "SNC_CUDA_ERROR",
        _ => $"status {status}",
    };
}
