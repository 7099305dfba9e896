namespace SparseNative.Cuda;

/// <summary>
/// A call into <c>libsparsenative_cuda</c> failed for a reason other than a bad argument: a CUDA runtime error (device lost,
/// launch failure, an earlier asynchronous fault), device memory exhausted, or an internal error. The message carries the
/// library's text (the CUDA call and CUDA's error name).
/// </summary>
public sealed class CudaException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public CudaException(int status, string statusName, string message) : base($"{statusName}: {message}")
    {
        Status = status;
        StatusName = statusName;
    }

    /// <summary>The library's status code (<c>sn_status</c>; 100 is <c>SNC_CUDA_ERROR</c>).</summary>
    public int Status { get; }

    /// <summary>The symbolic name of <see cref="Status"/>, e.g. <c>SNC_CUDA_ERROR</c>.</summary>
    public string StatusName { get; }
}
