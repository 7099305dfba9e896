namespace SparseNative.Interop;

/// <summary>One place the loader looked for the native library, and what happened there.</summary>
/// <param name="Path">The file tried (or a description such as "system search path: libsparsenative.so").</param>
/// <param name="Error">Why it was not used, or null if it was loaded and passed the ABI check.</param>
public sealed record NativeLoadAttempt(string Path, string? Error);

/// <summary>The outcome of finding, loading and ABI-checking the native library. Never thrown; inspect it.</summary>
public sealed class NativeLibraryStatus
{
    internal NativeLibraryStatus(nint handle, string? path, int abiVersion, string? buildInfo, string? failureReason,
                                 IReadOnlyList<NativeLoadAttempt> attempts)
    {
        Handle = handle;
        Path = path;
        AbiVersion = abiVersion;
        BuildInfo = buildInfo;
        FailureReason = failureReason;
        Attempts = attempts;
    }

    /// <summary>True if a library was loaded and passed the ABI self-check.</summary>
    public bool IsLoaded => Handle != 0;

    /// <summary>The full path of the loaded library, or null.</summary>
    public string? Path { get; }

    /// <summary>The loaded library's <c>sn_abi_version()</c>, or 0 if none was loaded.</summary>
    public int AbiVersion { get; }

    /// <summary>The loaded library's <c>sn_build_info()</c> (compiler, flags, ISA variants, selected kernel), or null.</summary>
    public string? BuildInfo { get; }

    /// <summary>Null when loaded; otherwise why not, including every attempt (path and error), one per line.</summary>
    public string? FailureReason { get; }

    /// <summary>Every location tried, in order, with its result.</summary>
    public IReadOnlyList<NativeLoadAttempt> Attempts { get; }

    internal nint Handle { get; }

    /// <inheritdoc />
    public override string ToString() =>
        IsLoaded ? $"loaded {Path} (abi {AbiVersion}): {BuildInfo}" : FailureReason ?? "not loaded";
}
