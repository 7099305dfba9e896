namespace SparseNative;

/// <summary>The backend asked for (by option or by <c>SPARSENATIVE_BACKEND</c>) cannot run here or cannot run this problem.</summary>
public sealed class BackendUnavailableException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public BackendUnavailableException(Backend backend, string reason)
        : base($"Backend {backend} was requested but cannot be used: {reason}") => Backend = backend;

    /// <summary>The backend that was requested.</summary>
    public Backend Backend { get; }
}
