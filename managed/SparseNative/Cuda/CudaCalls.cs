using SparseNative.Interop;
using SparseNative.Interop.Cuda;
using SparseNative.Native;

namespace SparseNative.Cuda;

/// <summary>The CUDA library's answers as the exceptions this library documents (through <see cref="NativeErrors"/>).</summary>
internal static class CudaCalls
{
    /// <summary>Throws <see cref="BackendUnavailableException"/> with the loader's reason unless the library is usable.</summary>
    public static void EnsureAvailable(SparseNativeCudaLibrary library)
    {
        if (library.UnavailableReason is { } why) throw new BackendUnavailableException(Backend.Cuda, why);
    }

    /// <summary><see cref="NativeErrors.ThrowIfFailed"/> with the library's <c>snc_last_error</c>.</summary>
    public static void Check(SparseNativeCudaLibrary library, SnStatus status, string? paramName = null) =>
        NativeErrors.ThrowIfFailed(Backend.Cuda, status, library.LastError, paramName);
}
