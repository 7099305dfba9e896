using SparseNative.Interop;
using SparseNative.Interop.Cuda;

namespace SparseNative.Cuda;

/// <summary>Turns the CUDA library's answers into the exceptions this library documents.</summary>
internal static class CudaCalls
{
    /// <summary>Throws <see cref="BackendUnavailableException"/> with the loader's reason unless the library is usable.</summary>
    public static void EnsureAvailable(SparseNativeCudaLibrary library)
    {
        if (library.UnavailableReason is { } why) throw new BackendUnavailableException(Backend.Cuda, why);
    }

    /// <summary>Argument errors → <see cref="ArgumentException"/>, an unsupported problem → <see cref="BackendUnavailableException"/>,
    /// anything else (CUDA errors, out of memory) → <see cref="CudaException"/>; all carry the library's message.</summary>
    public static void Check(SparseNativeCudaLibrary library, SnStatus status, string? paramName = null)
    {
        if (status == SnStatus.Ok) return;
        string message = library.LastError();
        switch (status)
        {
            case SnStatus.InvalidArgument or SnStatus.InvalidLayout or SnStatus.BufferTooSmall or SnStatus.NonFinite:
                throw new ArgumentException($"{Name(status)}: {message}", paramName);
            case SnStatus.Unsupported:
                throw new BackendUnavailableException(Backend.Cuda, message);
            default:
                throw new CudaException((int)status, Name(status), message);
        }
    }

    public static string Name(SnStatus status) => status switch
    {
        SnStatus.Ok => "SN_OK",
        SnStatus.InvalidArgument => "SN_INVALID_ARGUMENT",
        SnStatus.InvalidLayout => "SN_INVALID_LAYOUT",
        SnStatus.Unsupported => "SN_UNSUPPORTED",
        SnStatus.OutOfMemory => "SN_OUT_OF_MEMORY",
        SnStatus.Internal => "SN_INTERNAL",
        SnStatus.BufferTooSmall => "SN_BUFFER_TOO_SMALL",
        SnStatus.NonFinite => "SN_NON_FINITE",
        SparseNativeCudaLibrary.CudaError => "SNC_CUDA_ERROR",
        _ => $"status {(int)status}",
    };
}
