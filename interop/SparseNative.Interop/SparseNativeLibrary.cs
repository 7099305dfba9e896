using System.Reflection;
using System.Runtime.InteropServices;

namespace SparseNative.Interop;

/// <summary>
/// Finds, loads and ABI-checks libsparsenative, and binds the imports of <see cref="SparseNativeMethods"/> to it.
/// <para>
/// Where it looks, in order (the same rules as for every native library of SparseNative): <see cref="ExplicitPath"/>, else
/// the environment variable <c>SPARSENATIVE_NATIVE_PATH</c> (a file, or a directory holding the platform file name) —
/// when either is set, only that is tried. Otherwise <c>runtimes/&lt;rid&gt;/native/</c> beside SparseNative.Interop.dll
/// (the NuGet layout), the assembly's own directory, the same two under <see cref="AppContext.BaseDirectory"/>, then the
/// operating system's search path. A candidate must pass the ABI self-check (version, exports, struct layouts).
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

    private static readonly NativeLibrarySlot Slot = new(new NativeLibrarySpec("sparsenative", PathEnvironmentVariable,
        "SparseNativeLibrary.ExplicitPath",
        new AbiContract("sn", SparseNativeMethods.AbiVersion, ["sn_last_error", "sn_status_name", "sn_attention_forward", "sn_attention_backward"])));

    private static int resolverRegistered;

    /// <summary>The platform's file name of the library: libsparsenative.so, libsparsenative.dylib or sparsenative.dll.</summary>
    public static string PlatformFileName => Slot.Spec.PlatformFileName;

    /// <summary>
    /// An explicit library file (or directory) to use instead of probing; takes precedence over
    /// <c>SPARSENATIVE_NATIVE_PATH</c>. May be changed until a library has been loaded successfully (a failed
    /// probe is forgotten, so the next use probes again); afterwards changing it throws
    /// <see cref="InvalidOperationException"/>, because the runtime has bound the imports for the process lifetime.
    /// </summary>
    public static string? ExplicitPath
    {
        get => Slot.ExplicitPath;
        set => Slot.ExplicitPath = value;
    }

    /// <summary>The load outcome; probes on first access (thread-safe, once per success). Never throws.</summary>
    public static NativeLibraryStatus Status => Slot.Status;

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
}
