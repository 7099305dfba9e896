using SparseNative.Interop;
using SparseNative.Interop.Cuda;

namespace SparseNative.Cuda;

/// <summary>
/// Block-sparse attention on an NVIDIA GPU with data that stays in device memory (<see cref="CudaBuffer"/>). The host-span
/// path is <see cref="SparseAttention.Forward"/> with <see cref="Backend.Cuda"/> (or <see cref="Backend.Auto"/>, which
/// prefers the GPU when it is available); it copies the data to the GPU and back on every call.
/// </summary>
public static unsafe class CudaAttention
{
    /// <summary>Whether <c>libsparsenative_cuda</c> loaded and a CUDA device exists.</summary>
    public static bool IsAvailable => SparseNativeCudaLibrary.Shared.UnavailableReason is null;

    /// <summary>Why the GPU path cannot run here ("SparseNative could not load libsparsenative_cuda.so: … Attempts: …", "no CUDA device (…)"), or null.</summary>
    public static string? UnavailableReason => SparseNativeCudaLibrary.Shared.UnavailableReason;

    /// <summary>Device 0's name and compute capability, or "" when unavailable.</summary>
    public static string DeviceName => SparseNativeCudaLibrary.Shared.DeviceName;

    /// <summary>
    /// Computes attention (docs/SEMANTICS.md) on device buffers and waits for the result.
    /// </summary>
    /// <param name="query">Q, <c>[Batch, QueryHeads, QueryLength, HeadDim]</c> (or BSHD per <see cref="AttentionOptions.Format"/>).</param>
    /// <param name="key">K, <c>[Batch, KeyValueHeads, KeyLength, HeadDim]</c>, same data type as Q.</param>
    /// <param name="value">V, same shape and type as K.</param>
    /// <param name="output">O, same shape and type as Q; must be a different buffer from Q, K and V.</param>
    /// <param name="shape">The sizes.</param>
    /// <param name="layout">The block layout; uploaded to the GPU on first use and reused while the object lives.</param>
    /// <param name="options">Scale, causal, format and segment ids (host arrays, copied per call), checked as by
    /// <see cref="SparseAttention.Forward"/>; a causal layout (<see cref="BlockLayout.IsCausal"/>) turns the causal mask on. <see cref="AttentionOptions.Backend"/>
    /// must be <see cref="Backend.Auto"/> or <see cref="Backend.Cuda"/>; <see cref="AttentionOptions.MaxThreads"/> is ignored and
    /// <see cref="AttentionOptions.CheckFinite"/> cannot be honoured on device data (non-finite input gives unspecified output).</param>
    /// <param name="logSumExp">Optional <see cref="CudaDataType.Float32"/> buffer of <c>Batch·QueryHeads·QueryLength</c> elements.</param>
    /// <exception cref="ArgumentException">A size, type, layout or option is invalid; the message names it.</exception>
    /// <exception cref="BackendUnavailableException">No usable CUDA library or device, or the kernels do not cover this problem
    /// (float16/bfloat16 need head dim 64 or 128 and block size 64 or 128).</exception>
    /// <exception cref="NativeBackendException">A CUDA runtime error, device memory exhausted, or an internal error of the library.</exception>
    public static void Forward(CudaBuffer query, CudaBuffer key, CudaBuffer value, CudaBuffer output, AttentionShape shape,
        BlockLayout layout, AttentionOptions? options = null, CudaBuffer? logSumExp = null) =>
        ForwardWith(SparseNativeCudaLibrary.Shared, query, key, value, output, shape, layout, options, logSumExp);

    internal static void ForwardWith(SparseNativeCudaLibrary library, CudaBuffer query, CudaBuffer key, CudaBuffer value, CudaBuffer output,
        AttentionShape shape, BlockLayout layout, AttentionOptions? options, CudaBuffer? logSumExp)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(output);
        options ??= AttentionOptions.Default;
        // The checks every entry point shares (sizes, layout, format, scale, segment ids), then the device buffers.
        var settings = SparseAttention.ValidateSettings(shape, layout, options);
        if (settings.Cache is not null)
            throw new ArgumentException("CudaAttention takes plain K/V device buffers; options.KeyValueCache must be null.", nameof(options));
        if (options.Backend is not (Backend.Auto or Backend.Cuda))
            throw new ArgumentException($"options.Backend = {options.Backend}: CudaAttention runs only on the GPU (use Auto or Cuda).", nameof(options));

        Expect(query, query.DataType, nameof(query));
        Expect(key, query.DataType, nameof(key));
        Expect(value, query.DataType, nameof(value));
        Expect(output, query.DataType, nameof(output));
        if (logSumExp is not null) Expect(logSumExp, CudaDataType.Float32, nameof(logSumExp));
        SparseAttention.TensorLengths(shape, query.Length, key.Length, value.Length, output.Length, logSumExp?.Length);
        if (ReferenceEquals(output, query) || ReferenceEquals(output, key) || ReferenceEquals(output, value) || ReferenceEquals(output, logSumExp))
            throw new ArgumentException("output must be a separate buffer from query, key, value and logSumExp.", nameof(output));

        var segQ = settings.QuerySegmentIds.Span;
        var segK = settings.KeySegmentIds.Span;
        CudaCalls.EnsureAvailable(library);
        var deviceLayout = CudaDeviceLayout.For(library, layout);
        CudaBuffer? dSegQ = null, dSegK = null;
        var held = new List<SafeHandleLease>();
        try
        {
            if (!segQ.IsEmpty)
            {
                dSegQ = Allocate(library, segQ);
                dSegK = Allocate(library, segK);
            }
            var problem = Native.NativeStructs.Problem(shape, settings.Format, settings.Causal, settings.Scale, threads: 0,
                (int*)Lease(held, dSegQ), (int*)Lease(held, dSegK));
            var status = library.AttentionForwardDevice(problem, Lease(held, deviceLayout), (SncDtype)query.DataType,
                Lease(held, query), Lease(held, key), Lease(held, value), Lease(held, output), Lease(held, logSumExp), 0);
            CudaCalls.Check(library, status);
            CudaCalls.Check(library, library.Synchronize(0));
        }
        finally
        {
            foreach (var lease in held) lease.Release();
            dSegQ?.Dispose();
            dSegK?.Dispose();
        }
    }

    private static void Expect(CudaBuffer b, CudaDataType type, string name)
    {
        ObjectDisposedException.ThrowIf(b.IsClosed, b);
        if (b.DataType != type)
            throw new ArgumentException($"{name} holds {b.DataType}; expected {type}.", name);
    }

    private static CudaBuffer Allocate(SparseNativeCudaLibrary library, ReadOnlySpan<int> ids)
    {
        // int32 ids travel in a Float32-typed buffer of the same size: only the bytes matter.
        var b = CudaBuffer.Allocate(library, ids.Length, CudaDataType.Float32);
        b.Upload(System.Runtime.InteropServices.MemoryMarshal.Cast<int, float>(ids));
        return b;
    }

    /// <summary>A handle kept alive (AddRef'd) for the duration of a native call.</summary>
    private readonly record struct SafeHandleLease(System.Runtime.InteropServices.SafeHandle Handle)
    {
        public void Release() => Handle.DangerousRelease();
    }

    private static nint Lease(List<SafeHandleLease> held, System.Runtime.InteropServices.SafeHandle? h)
    {
        if (h is null) return 0;
        bool added = false;
        h.DangerousAddRef(ref added);
        if (added) held.Add(new SafeHandleLease(h));
        return h.DangerousGetHandle();
    }
}
