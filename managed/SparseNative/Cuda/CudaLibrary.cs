using System.Runtime.InteropServices;

namespace SparseNative.Cuda;

/// <summary>
/// The loaded <c>libsparsenative_cuda</c> and its entry points, or the reason it cannot be used. Loaded once per process on
/// first use (<see cref="Shared"/>). The library is opened explicitly with <see cref="NativeLibrary"/> and called through
/// function pointers, so a missing library is an answer ("not found: tried …"), never a <see cref="DllNotFoundException"/>
/// at some later call, and no DllImport resolver is installed on the assembly.
/// </summary>
internal sealed unsafe class CudaLibrary
{
    /// <summary>The <c>SNC_ABI_VERSION</c> these bindings were written for.</summary>
    public const int ExpectedAbiVersion = 1;

    /// <summary>Environment variable naming the library file to load (tried first).</summary>
    public const string PathVariable = "SPARSENATIVE_CUDA_LIBRARY";

    private static readonly Lazy<CudaLibrary> s_shared = new(() => Probe(DefaultCandidates()));

    /// <summary>The process-wide library (probed on first use).</summary>
    public static CudaLibrary Shared => s_shared.Value;

    /// <summary>Null when usable: loaded, ABI matches and at least one device exists. Otherwise why not.</summary>
    public string? UnavailableReason { get; }

    /// <summary>The file that was loaded, or null.</summary>
    public string? LoadedFrom { get; }

    /// <summary>Device 0's name and compute capability when available, else "".</summary>
    public string DeviceName { get; } = "";

    /// <summary>Every path tried, with the outcome: what a bug report about loading needs.</summary>
    public IReadOnlyList<string> ProbeTrace { get; }

#pragma warning disable CS0649 // assigned through GetExport
    internal readonly delegate* unmanaged[Cdecl]<int> AbiVersion;
    internal readonly delegate* unmanaged[Cdecl]<byte*> LastError;
    internal readonly delegate* unmanaged[Cdecl]<byte*> BuildInfo;
    internal readonly delegate* unmanaged[Cdecl]<int*, int> DeviceCount;
    internal readonly delegate* unmanaged[Cdecl]<int, byte*, int, int> DeviceNameFn;
    internal readonly delegate* unmanaged[Cdecl]<nuint, void**, int> Malloc;
    internal readonly delegate* unmanaged[Cdecl]<void*, int> Free;
    internal readonly delegate* unmanaged[Cdecl]<void*, void*, nuint, void*, int> CopyToDevice;
    internal readonly delegate* unmanaged[Cdecl]<void*, void*, nuint, void*, int> CopyToHost;
    internal readonly delegate* unmanaged[Cdecl]<void*, int> Synchronize;
    internal readonly delegate* unmanaged[Cdecl]<SnLayout*, void**, int> LayoutCreate;
    internal readonly delegate* unmanaged[Cdecl]<void*, int> LayoutDestroy;
    internal readonly delegate* unmanaged[Cdecl]<SnProblem*, void*, int, void*, void*, void*, void*, float*, void*, int> ForwardDevice;
    internal readonly delegate* unmanaged[Cdecl]<SnProblem*, SnLayout*, int, void*, nuint, void*, nuint, void*, nuint, void*, nuint, float*, nuint, int> ForwardHost;
#pragma warning restore CS0649

    private CudaLibrary(string reason, IReadOnlyList<string> trace)
    {
        UnavailableReason = reason;
        ProbeTrace = trace;
    }

    private CudaLibrary(nint handle, string path, IReadOnlyList<string> trace)
    {
        LoadedFrom = path;
        ProbeTrace = trace;
        try
        {
            AbiVersion = (delegate* unmanaged[Cdecl]<int>)NativeLibrary.GetExport(handle, "snc_abi_version");
            LastError = (delegate* unmanaged[Cdecl]<byte*>)NativeLibrary.GetExport(handle, "snc_last_error");
            BuildInfo = (delegate* unmanaged[Cdecl]<byte*>)NativeLibrary.GetExport(handle, "snc_build_info");
            DeviceCount = (delegate* unmanaged[Cdecl]<int*, int>)NativeLibrary.GetExport(handle, "snc_device_count");
            DeviceNameFn = (delegate* unmanaged[Cdecl]<int, byte*, int, int>)NativeLibrary.GetExport(handle, "snc_device_name");
            Malloc = (delegate* unmanaged[Cdecl]<nuint, void**, int>)NativeLibrary.GetExport(handle, "snc_malloc");
            Free = (delegate* unmanaged[Cdecl]<void*, int>)NativeLibrary.GetExport(handle, "snc_free");
            CopyToDevice = (delegate* unmanaged[Cdecl]<void*, void*, nuint, void*, int>)NativeLibrary.GetExport(handle, "snc_copy_to_device");
            CopyToHost = (delegate* unmanaged[Cdecl]<void*, void*, nuint, void*, int>)NativeLibrary.GetExport(handle, "snc_copy_to_host");
            Synchronize = (delegate* unmanaged[Cdecl]<void*, int>)NativeLibrary.GetExport(handle, "snc_synchronize");
            LayoutCreate = (delegate* unmanaged[Cdecl]<SnLayout*, void**, int>)NativeLibrary.GetExport(handle, "snc_layout_create");
            LayoutDestroy = (delegate* unmanaged[Cdecl]<void*, int>)NativeLibrary.GetExport(handle, "snc_layout_destroy");
            ForwardDevice = (delegate* unmanaged[Cdecl]<SnProblem*, void*, int, void*, void*, void*, void*, float*, void*, int>)
                NativeLibrary.GetExport(handle, "snc_attention_forward_device");
            ForwardHost = (delegate* unmanaged[Cdecl]<SnProblem*, SnLayout*, int, void*, nuint, void*, nuint, void*, nuint, void*, nuint, float*, nuint, int>)
                NativeLibrary.GetExport(handle, "snc_attention_forward_host");
        }
        catch (EntryPointNotFoundException e)
        {
            UnavailableReason = $"{path} is not a compatible libsparsenative_cuda: {e.Message}";
            return;
        }
        int abi = AbiVersion();
        if (abi != ExpectedAbiVersion)
        {
            UnavailableReason = $"{path} has ABI version {abi} but these bindings need {ExpectedAbiVersion}";
            return;
        }
        int count;
        Check(DeviceCount(&count));
        if (count < 1)
        {
            string why = LastErrorText();
            UnavailableReason = why.Length > 0 ? $"no CUDA device ({why})" : "no CUDA device";
            return;
        }
        var name = stackalloc byte[256];
        DeviceName = DeviceNameFn(0, name, 256) == SnStatus.Ok ? Marshal.PtrToStringUTF8((nint)name) ?? "" : "";
    }

    /// <summary>The platform's file name of the library.</summary>
    public static string FileName =>
        OperatingSystem.IsWindows() ? "sparsenative_cuda.dll" : OperatingSystem.IsMacOS() ? "libsparsenative_cuda.dylib" : "libsparsenative_cuda.so";

    /// <summary>Where the library is looked for, in order: <c>SPARSENATIVE_CUDA_LIBRARY</c>, next to the application, the NuGet
    /// <c>runtimes/&lt;rid&gt;/native</c> folder, then the system search (LD_LIBRARY_PATH, ldconfig) by bare name.</summary>
    public static IEnumerable<string> DefaultCandidates()
    {
        if (Environment.GetEnvironmentVariable(PathVariable) is { Length: > 0 } explicitPath) yield return explicitPath;
        yield return Path.Combine(AppContext.BaseDirectory, FileName);
        yield return Path.Combine(AppContext.BaseDirectory, "runtimes", RuntimeInformation.RuntimeIdentifier, "native", FileName);
        yield return FileName; // bare name: the dynamic loader's own search
    }

    /// <summary>Loads the first candidate that opens. A candidate with a directory part is a file path; a bare name goes to the
    /// system search. Never throws for a missing or unloadable library: the result carries the reason.</summary>
    internal static CudaLibrary Probe(IEnumerable<string> candidates)
    {
        var trace = new List<string>();
        foreach (var candidate in candidates)
        {
            bool isPath = candidate.Contains(Path.DirectorySeparatorChar) || candidate.Contains(Path.AltDirectorySeparatorChar);
            if (isPath && !File.Exists(candidate))
            {
                trace.Add($"{candidate} (no such file)");
                continue;
            }
            try
            {
                nint handle = NativeLibrary.Load(candidate);
                trace.Add($"{candidate} (loaded)");
                return new CudaLibrary(handle, candidate, trace);
            }
            catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
            {
                trace.Add($"{candidate} ({(isPath ? "failed to load" : "system search")}: {LoaderMessage(e)})");
            }
        }
        return new CudaLibrary($"libsparsenative_cuda not found: tried {string.Join("; ", trace)}", trace);
    }

    /// <summary>The dynamic loader's own words (.NET wraps dlerror in several lines of advice; the last line is the cause).</summary>
    private static string LoaderMessage(Exception e)
    {
        var lines = e.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length > 0 ? lines[^1] : e.GetType().Name;
    }

    /// <summary>Throws <see cref="BackendUnavailableException"/> with the reason unless the library is usable.</summary>
    public void EnsureAvailable()
    {
        if (UnavailableReason is { } why) throw new BackendUnavailableException(Backend.Cuda, why);
    }

    /// <summary>The library's message for the last failed call on this thread.</summary>
    public string LastErrorText() => Marshal.PtrToStringUTF8((nint)LastError()) ?? "";

    /// <summary>The library's build line (version, CUDA runtime, architectures).</summary>
    public string BuildInfoText() => Marshal.PtrToStringUTF8((nint)BuildInfo()) ?? "";

    /// <summary>Turns a status into the documented exception: argument errors → <see cref="ArgumentException"/>, an unsupported
    /// problem → <see cref="BackendUnavailableException"/>, anything else → <see cref="CudaException"/>.</summary>
    public void Check(int status, string? paramName = null)
    {
        if (status == SnStatus.Ok) return;
        string message = LastErrorText();
        switch (status)
        {
            case SnStatus.InvalidArgument or SnStatus.InvalidLayout or SnStatus.BufferTooSmall or SnStatus.NonFinite:
                throw new ArgumentException($"{SnStatus.Name(status)}: {message}", paramName);
            case SnStatus.Unsupported:
                throw new BackendUnavailableException(Backend.Cuda, message);
            default:
                throw new CudaException(status, SnStatus.Name(status), message);
        }
    }
}
