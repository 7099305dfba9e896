namespace SparseNative.Interop;

/// <summary>A native call returned a status other than <see cref="SnStatus.Ok"/>.</summary>
public sealed class SparseNativeException : Exception
{
    /// <summary>Creates the exception for a failed status and the native message.</summary>
    /// <param name="status">The status returned by the native function.</param>
    /// <param name="nativeMessage">The text of <c>sn_last_error()</c> read right after the call.</param>
    public SparseNativeException(SnStatus status, string nativeMessage)
        : base($"{NativeStatus.Name(status)}: {(nativeMessage.Length > 0 ? nativeMessage : "(no message)")}")
    {
        Status = status;
        NativeMessage = nativeMessage;
    }

    /// <summary>The status code.</summary>
    public SnStatus Status { get; }

    /// <summary>The native message, which names the offending argument or field and its value.</summary>
    public string NativeMessage { get; }
}

/// <summary>Turns native statuses into exceptions.</summary>
public static class NativeStatus
{
    /// <summary>
    /// Throws <see cref="SparseNativeException"/> (carrying <c>sn_last_error()</c>) unless
    /// <paramref name="status"/> is <see cref="SnStatus.Ok"/>. Call it immediately after the native call, on
    /// the same thread: the message is thread-local and the next native call replaces it.
    /// </summary>
    /// <param name="status">The status a native function returned.</param>
    public static void ThrowIfFailed(SnStatus status)
    {
        if (status != SnStatus.Ok) throw new SparseNativeException(status, SparseNativeMethods.LastError());
    }

    /// <summary>The C name of a status ("SN_INVALID_LAYOUT", "SNC_CUDA_ERROR"), without calling a native library.</summary>
    /// <param name="status">A status code.</param>
    /// <returns>The name, or "SN_UNKNOWN_STATUS(n)".</returns>
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
        SnStatus.CudaError => "SNC_CUDA_ERROR",
        _ => $"SN_UNKNOWN_STATUS({(int)status})",
    };
}
