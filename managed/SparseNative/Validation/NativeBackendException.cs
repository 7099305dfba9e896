namespace SparseNative;

/// <summary>
/// A native backend (<see cref="SparseNative.Backend.NativeCpu"/> or <see cref="SparseNative.Backend.Cuda"/>) failed for a
/// reason other than the input: out of (device) memory, a CUDA runtime error (device lost, launch failure, an earlier
/// asynchronous fault), or an internal error of the library. The message carries the library's status name and text.
/// </summary>
public sealed class NativeBackendException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="backend">The backend whose library failed.</param>
    /// <param name="status">The library's status code.</param>
    /// <param name="statusName">The status's C name.</param>
    /// <param name="message">The library's message (<c>sn_last_error</c> / <c>snc_last_error</c>).</param>
    public NativeBackendException(Backend backend, int status, string statusName, string message)
        : base($"{backend}: {statusName}: {message}")
    {
        Backend = backend;
        Status = status;
        StatusName = statusName;
    }

    /// <summary>The backend whose library failed.</summary>
    public Backend Backend { get; }

    /// <summary>The library's status code (<c>sn_status</c>; 100 is <c>SNC_CUDA_ERROR</c>).</summary>
    public int Status { get; }

    /// <summary>The symbolic name of <see cref="Status"/>, e.g. <c>SN_OUT_OF_MEMORY</c> or <c>SNC_CUDA_ERROR</c>.</summary>
    public string StatusName { get; }
}
