using System.Runtime.InteropServices;

namespace SparseNative.Interop.Cuda;

/// <summary>
/// The loaded <c>libsparsenative_cuda</c> (native/cuda/include/sparse_native_cuda.h) and its entry points, or the reason it
/// cannot be used. <see cref="Shared"/> is found by the same probe as the CPU library (see <see cref="SparseNativeLibrary"/>):
/// <see cref="ExplicitPath"/>, else <c>SPARSENATIVE_CUDA_PATH</c> — exclusive when set —, else <c>runtimes/&lt;rid&gt;/native/</c>
/// beside the assembly, the application folder and the system search; the same ABI check (version, exports, and the
/// <c>sn_layout</c>/<c>sn_problem</c> layouts through <c>snc_struct_layout</c>); the same trace of every attempt. The library is
/// called through function pointers, so a missing library is an answer, never a <see cref="DllNotFoundException"/> at some
/// later call, and it installs no DllImport resolver. The methods return the library's status unchanged;
/// <see cref="LastError"/> has the message of a failure.
/// </summary>
public sealed unsafe class SparseNativeCudaLibrary
{
    /// <summary>The <c>SNC_ABI_VERSION</c> these bindings were written for.</summary>
    public const int ExpectedAbiVersion = 4;

    /// <summary>Environment variable naming the library file (or its directory); exclusive when set.</summary>
    public const string PathEnvironmentVariable = "SPARSENATIVE_CUDA_PATH";

    private static readonly NativeLibrarySlot Slot = new(new NativeLibrarySpec("sparsenative_cuda", PathEnvironmentVariable,
        "SparseNativeCudaLibrary.ExplicitPath", new AbiContract("snc", ExpectedAbiVersion,
        [
            "snc_last_error", "snc_device_count", "snc_device_name", "snc_malloc", "snc_free", "snc_copy_to_device",
            "snc_copy_to_host", "snc_synchronize", "snc_layout_create", "snc_layout_destroy", "snc_attention_forward_device",
            "snc_attention_forward_host", "snc_attention_backward", "snc_attention_backward_host",
        ])));

    private static readonly object SharedGate = new();
    private static SparseNativeCudaLibrary? s_shared;

    /// <summary>
    /// An explicit library file (or directory) for <see cref="Shared"/>; takes precedence over <c>SPARSENATIVE_CUDA_PATH</c>.
    /// May be changed until a library has been loaded (a failed probe is forgotten); afterwards changing it throws
    /// <see cref="InvalidOperationException"/>, because device buffers and layouts belong to the loaded copy.
    /// </summary>
    public static string? ExplicitPath
    {
        get => Slot.ExplicitPath;
        set => Slot.ExplicitPath = value;
    }

    /// <summary>The process-wide library (probed on first use, and again after a failed probe if <see cref="ExplicitPath"/> changes).</summary>
    public static SparseNativeCudaLibrary Shared
    {
        get
        {
            NativeLibraryStatus status = Slot.Status;
            lock (SharedGate)
            {
                if (s_shared is null || !ReferenceEquals(s_shared.LoadStatus, status)) s_shared = new SparseNativeCudaLibrary(status);
                return s_shared;
            }
        }
    }

    /// <summary>A library loaded from <paramref name="path"/> (a file, or a directory holding <see cref="FileName"/>) by the same
    /// rules as <see cref="Shared"/>, with that path as the only candidate; independent of <see cref="Shared"/>.</summary>
    public static SparseNativeCudaLibrary Open(string path) =>
        new(NativeLibraryProbe.Probe(Slot.Spec, path, $"{nameof(SparseNativeCudaLibrary)}.{nameof(Open)}"));

    /// <summary>Null when usable: loaded, ABI matches and at least one device exists. Otherwise why not.</summary>
    public string? UnavailableReason { get; }

    /// <summary>How the library was found: the path, ABI version, build line, and every attempt (what a bug report needs).</summary>
    public NativeLibraryStatus LoadStatus { get; }

    /// <summary>The file that was loaded, or null.</summary>
    public string? LoadedFrom => LoadStatus.Path;

    /// <summary>Device 0's name and compute capability when available, else "".</summary>
    public string DeviceName { get; } = "";

    private readonly delegate* unmanaged[Cdecl]<byte*> LastErrorFn;
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
    private readonly delegate* unmanaged[Cdecl]<SnProblem*, void*, int, void*, void*, void*, void*, float*, void*, void*, void*, void*, void*, int> BackwardDeviceFn;
    private readonly delegate* unmanaged[Cdecl]<SnProblem*, SnLayout*, int, void*, nuint, void*, nuint, void*, nuint, void*, nuint, float*, nuint,
        void*, nuint, void*, nuint, void*, nuint, void*, nuint, int> BackwardHostFn;

    private SparseNativeCudaLibrary(NativeLibraryStatus status)
    {
        LoadStatus = status;
        if (!status.IsLoaded)
        {
            UnavailableReason = status.FailureReason;
            return;
        }
        // Every export below was checked to exist by the probe's ABI check.
        nint handle = status.Handle;
        LastErrorFn = (delegate* unmanaged[Cdecl]<byte*>)NativeLibrary.GetExport(handle, "snc_last_error");
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
        BackwardDeviceFn = (delegate* unmanaged[Cdecl]<SnProblem*, void*, int, void*, void*, void*, void*, float*, void*, void*, void*, void*, void*, int>)
            NativeLibrary.GetExport(handle, "snc_attention_backward");
        BackwardHostFn = (delegate* unmanaged[Cdecl]<SnProblem*, SnLayout*, int, void*, nuint, void*, nuint, void*, nuint, void*, nuint, float*, nuint,
            void*, nuint, void*, nuint, void*, nuint, void*, nuint, int>)NativeLibrary.GetExport(handle, "snc_attention_backward_host");
        int count;
        if (DeviceCountFn(&count) != 0) count = 0;
        if (count < 1)
        {
            string why = LastError();
            UnavailableReason = (why.Length > 0 ? $"no CUDA device ({why})" : "no CUDA device") + $"; {FileName} loaded from {status.Path}";
            return;
        }
        var name = stackalloc byte[256];
        DeviceName = DeviceNameFn(0, name, 256) == 0 ? Marshal.PtrToStringUTF8((nint)name) ?? "" : "";
    }

    /// <summary>The platform's file name of the library: libsparsenative_cuda.so, libsparsenative_cuda.dylib or sparsenative_cuda.dll.</summary>
    public static string FileName => Slot.Spec.PlatformFileName;

    /// <summary>The library's message for the last failed call on this thread (<c>snc_last_error</c>).</summary>
    public string LastError() => LastErrorFn == null ? "" : Marshal.PtrToStringUTF8((nint)LastErrorFn()) ?? "";

    /// <summary>The library's build line (<c>snc_build_info</c>: version, CUDA runtime, architectures), or "" when not loaded.</summary>
    public string BuildInfo() => LoadStatus.BuildInfo ?? "";

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

    /// <summary><c>snc_attention_backward</c>: device pointers (segment ids in <paramref name="problem"/> too), f32 only,
    /// asynchronous on <paramref name="stream"/> (0 = default stream).</summary>
    public SnStatus AttentionBackwardDevice(in SnProblem problem, nint layout, SncDtype dtype, nint q, nint k, nint v, nint output,
        nint lse, nint outputGradient, nint queryGradient, nint keyGradient, nint valueGradient, nint stream)
    {
        fixed (SnProblem* p = &problem)
            return (SnStatus)BackwardDeviceFn(p, (void*)layout, (int)dtype, (void*)q, (void*)k, (void*)v, (void*)output, (float*)lse,
                (void*)outputGradient, (void*)queryGradient, (void*)keyGradient, (void*)valueGradient, (void*)stream);
    }

    /// <summary><c>snc_attention_backward_host</c>: host pointers with element counts; copies to the GPU and back (synchronous).</summary>
    public SnStatus AttentionBackwardHost(in SnProblem problem, in SnLayout layout, SncDtype dtype, void* q, nuint qLength, void* k,
        nuint kLength, void* v, nuint vLength, void* output, nuint outputLength, float* lse, nuint lseLength, void* outputGradient,
        nuint outputGradientLength, void* queryGradient, nuint queryGradientLength, void* keyGradient, nuint keyGradientLength,
        void* valueGradient, nuint valueGradientLength)
    {
        fixed (SnProblem* p = &problem)
        fixed (SnLayout* l = &layout)
            return (SnStatus)BackwardHostFn(p, l, (int)dtype, q, qLength, k, kLength, v, vLength, output, outputLength, lse, lseLength,
                outputGradient, outputGradientLength, queryGradient, queryGradientLength, keyGradient, keyGradientLength, valueGradient,
                valueGradientLength);
    }
}
