using System.Reflection;
using System.Runtime.InteropServices;

namespace SparseNative.Interop;

/// <summary>
/// Finds, loads and ABI-checks libsparsenative, and binds the imports of <see cref="SparseNativeMethods"/> to it.
/// <para>
/// Where it looks, in order. If an explicit path is given (<see cref="ExplicitPath"/>, else the environment
/// variable <c>SPARSENATIVE_NATIVE_PATH</c>; a file, or a directory holding the platform file name), only that
/// is tried: an explicit request that fails must not be papered over by some other copy. Otherwise:
/// <c>runtimes/&lt;rid&gt;/native/</c> beside SparseNative.Interop.dll (the NuGet layout), the assembly's own
/// directory, the same two under <see cref="AppContext.BaseDirectory"/>, then the operating system's search
/// path (LD_LIBRARY_PATH etc.). The first candidate that loads and passes the ABI self-check wins; one that
/// loads but fails the check is unloaded and the search goes on.
/// </para>
/// <para>
/// Probing never throws: the outcome, with every attempt, is <see cref="Status"/>. Only a call into the
/// imports while no library could be loaded throws (<see cref="DllNotFoundException"/> with
/// <see cref="NativeLibraryStatus.FailureReason"/> as its message), as does <see cref="EnsureLoaded"/>.
/// </para>
/// </summary>
public static class SparseNativeLibrary
{
    /// <summary>The environment variable that names the library file (or its directory).</summary>
    public const string PathEnvironmentVariable = "SPARSENATIVE_NATIVE_PATH";

    private static readonly object Gate = new();
    private static string? explicitPath;
    private static NativeLibraryStatus? status;
    private static int resolverRegistered;

    /// <summary>The platform's file name of the library: libsparsenative.so, libsparsenative.dylib or sparsenative.dll.</summary>
    public static string PlatformFileName =>
        OperatingSystem.IsWindows() ? "sparsenative.dll"
        : OperatingSystem.IsMacOS() || OperatingSystem.IsIOS() ? "libsparsenative.dylib"
        : "libsparsenative.so";

    /// <summary>
    /// An explicit library file (or directory) to use instead of probing; takes precedence over
    /// <c>SPARSENATIVE_NATIVE_PATH</c>. May be changed until a library has been loaded successfully (a failed
    /// probe is forgotten, so the next use probes again); afterwards changing it throws
    /// <see cref="InvalidOperationException"/>, because the runtime has bound the imports for the process lifetime.
    /// </summary>
    public static string? ExplicitPath
    {
        get
        {
            lock (Gate) return explicitPath;
        }
        set
        {
            lock (Gate)
            {
                if (status is { IsLoaded: true } && !string.Equals(value, explicitPath, StringComparison.Ordinal))
                    throw new InvalidOperationException(
                        $"SparseNative's native library is already loaded from '{status.Path}'; set ExplicitPath before the first native call.");
                explicitPath = value;
                if (status is { IsLoaded: false }) status = null;
            }
        }
    }

    /// <summary>The load outcome; probes on first access (thread-safe, once per success). Never throws.</summary>
    public static NativeLibraryStatus Status
    {
        get
        {
            lock (Gate) return status ??= Probe(explicitPath);
        }
    }

    /// <summary>Loads the library if needed and throws <see cref="DllNotFoundException"/> with the full
    /// <see cref="NativeLibraryStatus.FailureReason"/> if that is impossible.</summary>
    /// <returns>The (loaded) status.</returns>
    public static NativeLibraryStatus EnsureLoaded()
    {
        NativeLibraryStatus s = Status;
        if (!s.IsLoaded) throw new DllNotFoundException(s.FailureReason);
        return s;
    }

    /// <summary>Installs the DllImport resolver for this assembly (idempotent; called by <see cref="SparseNativeMethods"/>).</summary>
    internal static void RegisterResolver()
    {
        if (Interlocked.Exchange(ref resolverRegistered, 1) == 0)
            NativeLibrary.SetDllImportResolver(typeof(SparseNativeLibrary).Assembly, Resolve);
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName != SparseNativeMethods.LibraryName) return 0;
        // Returning 0 would let the runtime fall back to its own probing and possibly bind an unchecked
        // library; throwing makes the failing P/Invoke report exactly why nothing suitable was found.
        return EnsureLoaded().Handle;
    }

    private static NativeLibraryStatus Probe(string? explicitSetting)
    {
        var attempts = new List<NativeLoadAttempt>();
        try
        {
            string? requested = explicitSetting;
            string origin = "SparseNativeLibrary.ExplicitPath";
            if (string.IsNullOrEmpty(requested))
            {
                requested = Environment.GetEnvironmentVariable(PathEnvironmentVariable);
                origin = PathEnvironmentVariable;
            }

            if (!string.IsNullOrEmpty(requested))
            {
                string file = Directory.Exists(requested) ? System.IO.Path.Combine(requested, PlatformFileName) : requested;
                NativeLibraryStatus? s = TryCandidate(file, attempts);
                return s ?? Failed($"the native library named by {origin} ('{requested}') could not be used", attempts);
            }

            foreach (string candidate in DefaultCandidates())
            {
                NativeLibraryStatus? s = TryCandidate(candidate, attempts);
                if (s != null) return s;
            }
            NativeLibraryStatus? system = TrySystemSearch(attempts);
            return system ?? Failed("no usable native library was found", attempts);
        }
        catch (Exception e)
        {
            attempts.Add(new NativeLoadAttempt("(probing)", $"{e.GetType().Name}: {e.Message}"));
            return Failed("probing failed unexpectedly", attempts);
        }
    }

    private static IEnumerable<string> DefaultCandidates()
    {
        var directories = new List<string>();
        string assemblyDir = SafeDirectory(typeof(SparseNativeLibrary).Assembly.Location);
        if (assemblyDir.Length > 0) directories.Add(assemblyDir);
        string baseDir = AppContext.BaseDirectory ?? string.Empty;
        if (baseDir.Length > 0) directories.Add(baseDir);

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string dir in directories)
        {
            foreach (string rid in RuntimeIdentifiers())
            {
                string path = System.IO.Path.GetFullPath(System.IO.Path.Combine(dir, "runtimes", rid, "native", PlatformFileName));
                if (seen.Add(path)) yield return path;
            }
            string flat = System.IO.Path.GetFullPath(System.IO.Path.Combine(dir, PlatformFileName));
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
            return string.IsNullOrEmpty(file) ? string.Empty : System.IO.Path.GetDirectoryName(file) ?? string.Empty;
        }
        catch (Exception)
        {
            return string.Empty;
        }
    }

    private static NativeLibraryStatus? TryCandidate(string path, List<NativeLoadAttempt> attempts)
    {
        string full;
        try
        {
            full = System.IO.Path.GetFullPath(path);
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
        return Checked(handle, full, attempts);
    }

    private static NativeLibraryStatus? TrySystemSearch(List<NativeLoadAttempt> attempts)
    {
        string label = $"system search path: {PlatformFileName}";
        nint handle;
        try
        {
            if (!NativeLibrary.TryLoad(PlatformFileName, out handle))
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
        return Checked(handle, label, attempts);
    }

    private static NativeLibraryStatus? Checked(nint handle, string path, List<NativeLoadAttempt> attempts)
    {
        string? problem = AbiCheck.Verify(handle, out int abiVersion, out string? buildInfo);
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
    private static string OneLine(string message) => string.Join(' ', message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static NativeLibraryStatus Failed(string summary, List<NativeLoadAttempt> attempts)
    {
        var text = new System.Text.StringBuilder();
        text.Append("SparseNative could not load its native library (").Append(PlatformFileName).Append("): ")
            .Append(summary).Append('.');
        text.Append(" Attempts:");
        foreach (NativeLoadAttempt a in attempts) text.Append("\n  ").Append(a.Path).Append(": ").Append(a.Error ?? "ok");
        text.Append("\nSet ").Append(PathEnvironmentVariable)
            .Append(" or SparseNativeLibrary.ExplicitPath to the library file, or place it in runtimes/<rid>/native/ beside SparseNative.Interop.dll.");
        return new NativeLibraryStatus(0, null, 0, null, text.ToString(), attempts.ToArray());
    }
}
