using System.Runtime.InteropServices;

namespace SparseNative.Interop.Cuda;

/// <summary>
/// The loaded <c>libsparsenative_cuda</c> (native/cuda/include/sparse_native_cuda.h) and its entry points, or the reason it
/// cannot be used. Loaded once per process on first use (<see cref="Shared"/>). The library is opened explicitly with
/// <see cref="NativeLibrary"/> and called through function pointers, so a missing library is an answer ("not found: tried …"),
/// never a <see cref="DllNotFoundException"/> at some later call, and it installs no DllImport resolver (the CPU library's
/// resolver in <see cref="SparseNativeLibrary"/> is unaffected). The methods return the library's status unchanged;
/// <see cref="LastError"/> has the message of a failure.
/// </summary>
public sealed unsafe class SparseNativeCudaLibrary
{
    /// <summary><c>SNC_CUDA_ERROR</c>: a CUDA runtime call failed (the message names it).</summary>
    public const SnStatus CudaError = (SnStatus)100;

    /// <summary>The <c>SNC_ABI_VERSION</c> these bindings were written for.</summary>
    public const int ExpectedAbiVersion = 2;

    /// <summary>Environment variable naming the library file to load (tried first).</summary>
    public const string PathEnvironmentVariable = "SPARSENATIVE_CUDA_LIBRARY";

    private static readonly Lazy<SparseNativeCudaLibrary> s_shared = new(() => Probe(DefaultCandidates()));

    /// <summary>The process-wide library (probed on first use).</summary>
    public static SparseNativeCudaLibrary Shared => s_shared.Value;

    /// <summary>Null when usable: loaded, ABI matches and at least one device exists. Otherwise why not.</summary>
    public string? UnavailableReason { get; }

    /// <summary>The file that was loaded, or null.</summary>
    public string? LoadedFrom { get; }

    /// <summary>Device 0's name and compute capability when available, else "".</summary>
    public string DeviceName { get; } = "";

    /// <summary>Every path tried, with the outcome: what a bug report about loading needs.</summary>
    public IReadOnlyList<string> ProbeTrace { get; }

    private readonly delegate* unmanaged[Cdecl]<int> AbiVersionFn;
    private readonly delegate* unmanaged[Cdecl]<byte*> LastErrorFn;
    private readonly delegate* unmanaged[Cdecl]<byte*> BuildInfoFn;
    private readonly delegate* unmanaged[Cdecl]<int*, int> DeviceCountFn;
    private readonly delegate* unmanaged[Cdecl]<int, byte*, int, int> DeviceNameFn;
    private readonly delegate* unmanaged[Cdecl]<nuint, void**, int> MallocFn;
    private readonly delegate* unmanaged[Cdecl]<void*, int> FreeFn;
    private readonly delegate* unmanaged[Cdecl]<void*, void*, nuint, void*, int> CopyToDeviceFn;
    private readonly delegate* unmanaged[Cdecl]<void*, void*, nuint, void*, int> CopyToHostFn;
    private readonly delegate* unmanaged[Cdecl]<void*, int> SynchronizeFn;
    private readonly delegate* unmanaged[Cdecl]<SnLayout*, void**, int> LayoutCreateFn;
    private readonly delegate* unmanaged[Cdecl]<void*, int> LayoutDestroyFn;
    private readonly delegate* unmanaged[Cdecl]<SnProblem*, void*, int, void*, void*, void*, void*, float*, void*, int> ForwardDeviceFn;
    private readonly delegate* unmanaged[Cdecl]<SnProblem*, SnLayout*, int, void*, nuint, void*, nuint, void*, nuint, void*, nuint, float*, nuint, int> ForwardHostFn;

    private SparseNativeCudaLibrary(string reason, IReadOnlyList<string> trace)
    {
        UnavailableReason = reason;
        ProbeTrace = trace;
    }

    private SparseNativeCudaLibrary(nint handle, string path, IReadOnlyList<string> trace)
    {
        LoadedFrom = path;
        ProbeTrace = trace;
        try
        {
            AbiVersionFn = (delegate* unmanaged[Cdecl]<int>)NativeLibrary.GetExport(handle, "snc_abi_version");
            LastErrorFn = (delegate* unmanaged[Cdecl]<byte*>)NativeLibrary.GetExport(handle, "snc_last_error");
            BuildInfoFn = (delegate* unmanaged[Cdecl]<byte*>)NativeLibrary.GetExport(handle, "snc_build_info");
            DeviceCountFn = (delegate* unmanaged[Cdecl]<int*, int>)NativeLibrary.GetExport(handle, "snc_device_count");
            DeviceNameFn = (delegate* unmanaged[Cdecl]<int, byte*, int, int>)NativeLibrary.GetExport(handle, "snc_device_name");
            MallocFn = (delegate* unmanaged[Cdecl]<nuint, void**, int>)NativeLibrary.GetExport(handle, "snc_malloc");
            FreeFn = (delegate* unmanaged[Cdecl]<void*, int>)NativeLibrary.GetExport(handle, "snc_free");
            CopyToDeviceFn = (delegate* unmanaged[Cdecl]<void*, void*, nuint, void*, int>)NativeLibrary.GetExport(handle, "snc_copy_to_device");
            CopyToHostFn = (delegate* unmanaged[Cdecl]<void*, void*, nuint, void*, int>)NativeLibrary.GetExport(handle, "snc_copy_to_host");
            SynchronizeFn = (delegate* unmanaged[Cdecl]<void*, int>)NativeLibrary.GetExport(handle, "snc_synchronize");
            LayoutCreateFn = (delegate* unmanaged[Cdecl]<SnLayout*, void**, int>)NativeLibrary.GetExport(handle, "snc_layout_create");
            LayoutDestroyFn = (delegate* unmanaged[Cdecl]<void*, int>)NativeLibrary.GetExport(handle, "snc_layout_destroy");
            ForwardDeviceFn = (delegate* unmanaged[Cdecl]<SnProblem*, void*, int, void*, void*, void*, void*, float*, void*, int>)
                NativeLibrary.GetExport(handle, "snc_attention_forward_device");
            ForwardHostFn = (delegate* unmanaged[Cdecl]<SnProblem*, SnLayout*, int, void*, nuint, void*, nuint, void*, nuint, void*, nuint, float*, nuint, int>)
                NativeLibrary.GetExport(handle, "snc_attention_forward_host");
        }
        catch (EntryPointNotFoundException e)
        {
            UnavailableReason = $"{path} is not a compatible libsparsenative_cuda: {e.Message}";
            return;
        }
        int abi = AbiVersionFn();
        if (abi != ExpectedAbiVersion)
        {
            UnavailableReason = $"{path} has ABI version {abi} but these bindings need {ExpectedAbiVersion}";
            return;
        }
        int count;
        if (DeviceCountFn(&count) != 0) count = 0;
        if (count < 1)
        {
            string why = LastError();
            UnavailableReason = why.Length > 0 ? $"no CUDA device ({why})" : "no CUDA device";
            return;
        }
        var name = stackalloc byte[256];
        DeviceName = DeviceNameFn(0, name, 256) == 0 ? Marshal.PtrToStringUTF8((nint)name) ?? "" : "";
    }

    /// <summary>The platform's file name of the library.</summary>
    public static string FileName =>
        OperatingSystem.IsWindows() ? "sparsenative_cuda.dll" : OperatingSystem.IsMacOS() ? "libsparsenative_cuda.dylib" : "libsparsenative_cuda.so";

    /// <summary>Where the library is looked for, in order: <c>SPARSENATIVE_CUDA_LIBRARY</c>, next to the application, the NuGet
    /// <c>runtimes/&lt;rid&gt;/native</c> folder, then the system search (LD_LIBRARY_PATH, ldconfig) by bare name.</summary>
    public static IEnumerable<string> DefaultCandidates()
    {
        if (Environment.GetEnvironmentVariable(PathEnvironmentVariable) is { Length: > 0 } explicitPath) yield return explicitPath;
        yield return Path.Combine(AppContext.BaseDirectory, FileName);
        yield return Path.Combine(AppContext.BaseDirectory, "runtimes", RuntimeInformation.RuntimeIdentifier, "native", FileName);
        yield return FileName; // bare name: the dynamic loader's own search
    }

    /// <summary>Loads the first candidate that opens. A candidate with a directory part is a file path; a bare name goes to the
    /// system search. Never throws for a missing or unloadable library: the result carries the reason.</summary>
    public static SparseNativeCudaLibrary Probe(IEnumerable<string> candidates)
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
                return new SparseNativeCudaLibrary(handle, candidate, trace);
            }
            catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
            {
                trace.Add($"{candidate} ({(isPath ? "failed to load" : "system search")}: {LoaderMessage(e)})");
            }
        }
        return new SparseNativeCudaLibrary($"libsparsenative_cuda not found: tried {string.Join("; ", trace)}", trace);
    }

    /// <summary>The dynamic loader's own words (.NET wraps dlerror in several lines of advice; the last line is the cause).</summary>
    private static string LoaderMessage(Exception e)
    {
        var lines = e.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length > 0 ? lines[^1] : e.GetType().Name;
    }

    /// <summary>The library's message for the last failed call on this thread (<c>snc_last_error</c>).</summary>
    public string LastError() => Marshal.PtrToStringUTF8((nint)LastErrorFn()) ?? "";

    /// <summary>The library's build line (<c>snc_build_info</c>: version, CUDA runtime, architectures).</summary>
    public string BuildInfo() => Marshal.PtrToStringUTF8((nint)BuildInfoFn()) ?? "";

    /// <summary><c>snc_malloc</c>: device memory on the current device.</summary>
    public SnStatus Malloc(nuint bytes, out nint devicePointer)
    {
        void* p;
        var s = (SnStatus)MallocFn(bytes, &p);
        devicePointer = (nint)p;
        return s;
    }

    /// <summary><c>snc_free</c>.</summary>
    public SnStatus Free(nint devicePointer) => (SnStatus)FreeFn((void*)devicePointer);

    /// <summary><c>snc_copy_to_device</c> (synchronous).</summary>
    public SnStatus CopyToDevice(nint deviceDestination, void* hostSource, nuint bytes, nint stream) =>
        (SnStatus)CopyToDeviceFn((void*)deviceDestination, hostSource, bytes, (void*)stream);

    /// <summary><c>snc_copy_to_host</c> (synchronous).</summary>
    public SnStatus CopyToHost(void* hostDestination, nint deviceSource, nuint bytes, nint stream) =>
        (SnStatus)CopyToHostFn(hostDestination, (void*)deviceSource, bytes, (void*)stream);

    /// <summary><c>snc_synchronize</c>: waits for the stream; reports an asynchronous kernel error.</summary>
    public SnStatus Synchronize(nint stream) => (SnStatus)SynchronizeFn((void*)stream);

    /// <summary><c>snc_layout_create</c>: validates and uploads a layout (host arrays) to the current device.</summary>
    public SnStatus LayoutCreate(in SnLayout layout, out nint handle)
    {
        void* h;
        SnStatus s;
        fixed (SnLayout* l = &layout) s = (SnStatus)LayoutCreateFn(l, &h);
        handle = (nint)h;
        return s;
    }

    /// <summary><c>snc_layout_destroy</c>.</summary>
    public SnStatus LayoutDestroy(nint handle) => (SnStatus)LayoutDestroyFn((void*)handle);

    /// <summary><c>snc_attention_forward_device</c>: device pointers (segment ids in <paramref name="problem"/> too),
    /// asynchronous on <paramref name="stream"/> (0 = default stream).</summary>
    public SnStatus AttentionForwardDevice(in SnProblem problem, nint layout, SncDtype dtype, nint q, nint k, nint v, nint output,
        nint lse, nint stream)
    {
        fixed (SnProblem* p = &problem)
            return (SnStatus)ForwardDeviceFn(p, (void*)layout, (int)dtype, (void*)q, (void*)k, (void*)v, (void*)output, (float*)lse,
                (void*)stream);
    }

    /// <summary><c>snc_attention_forward_host</c>: host pointers with element counts; copies to the GPU and back (synchronous).</summary>
    public SnStatus AttentionForwardHost(in SnProblem problem, in SnLayout layout, SncDtype dtype, void* q, nuint qLength, void* k,
        nuint kLength, void* v, nuint vLength, void* output, nuint outputLength, float* lse, nuint lseLength)
    {
        fixed (SnProblem* p = &problem)
        fixed (SnLayout* l = &layout)
            return (SnStatus)ForwardHostFn(p, l, (int)dtype, q, qLength, k, kLength, v, vLength, output, outputLength, lse, lseLength);
    }
}
