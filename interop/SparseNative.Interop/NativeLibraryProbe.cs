using System.Runtime.InteropServices;

namespace SparseNative.Interop;

/// <summary>One native library of ours: its file name, the environment variable and the property that name an explicit
/// copy of it, and the ABI it must match.</summary>
/// <param name="BaseName">The name without platform decoration ("sparsenative" → libsparsenative.so, sparsenative.dll).</param>
/// <param name="EnvironmentVariable">Names the library file (or its directory); exclusive when set.</param>
/// <param name="ExplicitPathProperty">The code-level setting that takes precedence over the variable, for messages.</param>
/// <param name="Abi">What the library must export and report.</param>
internal sealed record NativeLibrarySpec(string BaseName, string EnvironmentVariable, string ExplicitPathProperty, AbiContract Abi)
{
    /// <summary>lib{BaseName}.so, lib{BaseName}.dylib or {BaseName}.dll.</summary>
    public string PlatformFileName =>
        OperatingSystem.IsWindows() ? $"{BaseName}.dll"
        : OperatingSystem.IsMacOS() || OperatingSystem.IsIOS() ? $"lib{BaseName}.dylib"
        : $"lib{BaseName}.so";
}

/// <summary>
/// The one probe routine for every native library of ours (<see cref="SparseNativeLibrary"/>,
/// <see cref="Cuda.SparseNativeCudaLibrary"/>).
/// <para>
/// If an explicit path is given (set in code, else the spec's environment variable; a file, or a directory holding the
/// platform file name), only that is tried: an explicit request that fails must not be papered over by some other copy.
/// Otherwise: <c>runtimes/&lt;rid&gt;/native/</c> beside SparseNative.Interop.dll (the NuGet layout), the assembly's own
/// directory, the same two under <see cref="AppContext.BaseDirectory"/> (the application folder), then the operating
/// system's search path (LD_LIBRARY_PATH etc.). The first candidate that loads and passes <see cref="AbiCheck"/> wins; one
/// that loads but fails the check is unloaded and the search goes on.
/// </para>
/// <para>Never throws: every attempt, with its outcome, is in the returned status.</para>
/// </summary>
internal static class NativeLibraryProbe
{
    /// <summary>Probes for <paramref name="spec"/>; <paramref name="explicitPath"/> (when not empty) was set by
    /// <paramref name="origin"/> and is exclusive, as is the environment variable when no explicit path is set.</summary>
    public static NativeLibraryStatus Probe(NativeLibrarySpec spec, string? explicitPath, string? origin = null)
    {
        var attempts = new List<NativeLoadAttempt>();
        try
        {
            string? requested = explicitPath;
            origin ??= spec.ExplicitPathProperty;
            if (string.IsNullOrEmpty(requested))
            {
                requested = Environment.GetEnvironmentVariable(spec.EnvironmentVariable);
                origin = spec.EnvironmentVariable;
            }

            if (!string.IsNullOrEmpty(requested))
            {
                string file = Directory.Exists(requested) ? Path.Combine(requested, spec.PlatformFileName) : requested;
                return TryCandidate(spec, file, attempts)
                       ?? Failed(spec, $"the library named by {origin} ('{requested}') could not be used", attempts);
            }

            foreach (string candidate in DefaultCandidates(spec.PlatformFileName))
            {
                NativeLibraryStatus? s = TryCandidate(spec, candidate, attempts);
                if (s != null) return s;
            }
            return TrySystemSearch(spec, attempts) ?? Failed(spec, "no usable library was found", attempts);
        }
        catch (Exception e)
        {
            attempts.Add(new NativeLoadAttempt("(probing)", $"{e.GetType().Name}: {e.Message}"));
            return Failed(spec, "probing failed unexpectedly", attempts);
        }
    }

    /// <summary>The file locations tried when no explicit path is set, in order (the system search comes after them).</summary>
    internal static IEnumerable<string> DefaultCandidates(string fileName)
    {
        var directories = new List<string>();
        string assemblyDir = SafeDirectory(typeof(NativeLibraryProbe).Assembly.Location);
        if (assemblyDir.Length > 0) directories.Add(assemblyDir);
        string baseDir = AppContext.BaseDirectory ?? string.Empty;
        if (baseDir.Length > 0) directories.Add(baseDir);

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string dir in directories)
        {
            foreach (string rid in RuntimeIdentifiers())
            {
                string path = Path.GetFullPath(Path.Combine(dir, "runtimes", rid, "native", fileName));
                if (seen.Add(path)) yield return path;
            }
            string flat = Path.GetFullPath(Path.Combine(dir, fileName));
            if (seen.Add(flat)) yield return flat;
        }
    }

    /// <summary>The runtime's own RID first (e.g. linux-musl-x64), then the portable one built from OS and architecture.</summary>
    private static IEnumerable<string> RuntimeIdentifiers()
    {
        var rids = new List<string>();
        string own = RuntimeInformation.RuntimeIdentifier;
        if (!string.IsNullOrEmpty(own)) rids.Add(own);
        string os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : OperatingSystem.IsLinux() ? "linux" : "unknown";
        string arch = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => "x64",
            Architecture.Arm64 => "arm64",
            Architecture.X86 => "x86",
            Architecture.Arm => "arm",
            var other => other.ToString().ToLowerInvariant(),
        };
        string portable = $"{os}-{arch}";
        if (!rids.Contains(portable)) rids.Add(portable);
        return rids;
    }

    private static string SafeDirectory(string? file)
    {
        try
        {
            // Empty for single-file and in-memory assemblies.
            return string.IsNullOrEmpty(file) ? string.Empty : Path.GetDirectoryName(file) ?? string.Empty;
        }
        catch (Exception)
        {
            return string.Empty;
        }
    }

    private static NativeLibraryStatus? TryCandidate(NativeLibrarySpec spec, string path, List<NativeLoadAttempt> attempts)
    {
        string full;
        try
        {
            full = Path.GetFullPath(path);
        }
        catch (Exception e)
        {
            attempts.Add(new NativeLoadAttempt(path, $"invalid path: {e.Message}"));
            return null;
        }
        if (!File.Exists(full))
        {
            attempts.Add(new NativeLoadAttempt(full, "file not found"));
            return null;
        }
        nint handle;
        try
        {
            handle = NativeLibrary.Load(full);
        }
        catch (Exception e)
        {
            attempts.Add(new NativeLoadAttempt(full, $"load failed: {OneLine(e.Message)}"));
            return null;
        }
        return Checked(spec, handle, full, attempts);
    }

    private static NativeLibraryStatus? TrySystemSearch(NativeLibrarySpec spec, List<NativeLoadAttempt> attempts)
    {
        string label = $"system search path: {spec.PlatformFileName}";
        nint handle;
        try
        {
            if (!NativeLibrary.TryLoad(spec.PlatformFileName, out handle))
            {
                attempts.Add(new NativeLoadAttempt(label, "not found by the operating system's loader"));
                return null;
            }
        }
        catch (Exception e)
        {
            attempts.Add(new NativeLoadAttempt(label, $"load failed: {OneLine(e.Message)}"));
            return null;
        }
        return Checked(spec, handle, label, attempts);
    }

    private static NativeLibraryStatus? Checked(NativeLibrarySpec spec, nint handle, string path, List<NativeLoadAttempt> attempts)
    {
        string? problem = AbiCheck.Verify(handle, spec.Abi, out int abiVersion, out string? buildInfo);
        if (problem != null)
        {
            attempts.Add(new NativeLoadAttempt(path, problem));
            try
            {
                NativeLibrary.Free(handle);
            }
            catch (Exception)
            {
                // Keeping a rejected library mapped is harmless; it is never bound.
            }
            return null;
        }
        attempts.Add(new NativeLoadAttempt(path, null));
        return new NativeLibraryStatus(handle, path, abiVersion, buildInfo, null, attempts.ToArray());
    }

    // Loader messages (dlerror text) can span lines; the trace keeps one attempt per line.
    private static string OneLine(string message) =>
        string.Join(' ', message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static NativeLibraryStatus Failed(NativeLibrarySpec spec, string summary, List<NativeLoadAttempt> attempts)
    {
        var text = new System.Text.StringBuilder();
        text.Append("SparseNative could not load ").Append(spec.PlatformFileName).Append(": ").Append(summary).Append('.');
        text.Append(" Attempts:");
        foreach (NativeLoadAttempt a in attempts) text.Append("\n  ").Append(a.Path).Append(": ").Append(a.Error ?? "ok");
        text.Append("\nSet ").Append(spec.EnvironmentVariable).Append(" or ").Append(spec.ExplicitPathProperty)
            .Append(" to the library file, or place it in runtimes/<rid>/native/ beside SparseNative.Interop.dll.");
        return new NativeLibraryStatus(0, null, 0, null, text.ToString(), attempts.ToArray());
    }
}

/// <summary>A process-wide library of ours: its explicit path setting and its probe outcome, probed once per success.</summary>
internal sealed class NativeLibrarySlot(NativeLibrarySpec spec)
{
    private readonly object _gate = new();
    private string? _explicitPath;
    private NativeLibraryStatus? _status;

    public NativeLibrarySpec Spec => spec;

    /// <summary>May be changed until a library has been loaded (a failed probe is forgotten, so the next use probes
    /// again); afterwards a different value throws, because users hold what was bound to the loaded copy.</summary>
    public string? ExplicitPath
    {
        get
        {
            lock (_gate) return _explicitPath;
        }
        set
        {
            lock (_gate)
            {
                if (_status is { IsLoaded: true } && !string.Equals(value, _explicitPath, StringComparison.Ordinal))
                    throw new InvalidOperationException(
                        $"{spec.PlatformFileName} is already loaded from '{_status.Path}'; set {spec.ExplicitPathProperty} before the first use.");
                _explicitPath = value;
                if (_status is { IsLoaded: false }) _status = null;
            }
        }
    }

    /// <summary>The load outcome; probes on first access (thread-safe). Never throws.</summary>
    public NativeLibraryStatus Status
    {
        get
        {
            lock (_gate) return _status ??= NativeLibraryProbe.Probe(spec, _explicitPath);
        }
    }
}
