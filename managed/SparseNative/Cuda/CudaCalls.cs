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

    /// <summary>The C name of a status: the CPU library's names plus the CUDA library's own SNC_CUDA_ERROR.</summary>
    public static string Name(SnStatus status) =>
        status == SparseNativeCudaLibrary.CudaError ? "SNC_CUDA_ERROR" : NativeStatus.Name(status);
}
