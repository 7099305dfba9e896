using System.Runtime.InteropServices;
using SparseNative.Interop;
using SparseNative.Interop.Cuda;

namespace SparseNative.Cuda;

/// <summary>
/// Device memory on the current CUDA device, owned by a <see cref="SafeHandle"/>: freed exactly once (by
/// <see cref="SafeHandle.Dispose()"/> or the finalizer), never while a call is using it. Data stays on the GPU across
/// <c>CudaAttention.Forward</c> calls; <see cref="Upload(ReadOnlySpan{float})"/> and <see cref="Download(Span{float})"/>
/// copy whole buffers synchronously.
/// </summary>
/// <remarks>
/// Every member that needs the GPU throws <see cref="BackendUnavailableException"/> (with the reason: library not found,
/// no CUDA device, ABI mismatch) when <c>libsparsenative_cuda</c> cannot be used; see <see cref="CudaAttention.UnavailableReason"/>.
/// </remarks>
public sealed unsafe class CudaBuffer : SafeHandle
{
    private readonly SparseNativeCudaLibrary _library;

    private CudaBuffer(SparseNativeCudaLibrary library, long length, CudaDataType dataType) : base(0, ownsHandle: true)
    {
        _library = library;
        Length = length;
        DataType = dataType;
    }

    /// <summary>Number of elements.</summary>
    public long Length { get; }

    /// <summary>Element type.</summary>
    public CudaDataType DataType { get; }

    /// <summary>Size in bytes.</summary>
    public long ByteLength => Length * DataType.ElementSize();

    /// <inheritdoc />
    public override bool IsInvalid => handle == 0;

    /// <summary>Allocates <paramref name="length"/> elements of <paramref name="dataType"/> (contents undefined).</summary>
    /// <exception cref="ArgumentOutOfRangeException">length &lt; 1 or an unknown data type.</exception>
    /// <exception cref="BackendUnavailableException">The CUDA library or a device is missing; the message says which.</exception>
    /// <exception cref="NativeBackendException">The allocation failed (out of device memory, CUDA error).</exception>
    public static CudaBuffer Allocate(long length, CudaDataType dataType) => Allocate(SparseNativeCudaLibrary.Shared, length, dataType);

    internal static CudaBuffer Allocate(SparseNativeCudaLibrary library, long length, CudaDataType dataType)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
        if (!Enum.IsDefined(dataType))
            throw new ArgumentOutOfRangeException(nameof(dataType), dataType, $"{(int)dataType} is not a CudaDataType.");
        if (length > long.MaxValue / 4)
            throw new ArgumentOutOfRangeException(nameof(length), length, "The byte count overflows.");
        CudaCalls.EnsureAvailable(library);
        var buffer = new CudaBuffer(library, length, dataType);
        var status = library.Malloc((nuint)buffer.ByteLength, out nint ptr);
        if (status != SnStatus.Ok)
        {
            buffer.SetHandleAsInvalid();
            CudaCalls.Check(library, status);
        }
        buffer.SetHandle(ptr);
        return buffer;
    }

    /// <summary>A new float32 buffer holding a copy of <paramref name="data"/>.</summary>
    public static CudaBuffer FromHost(ReadOnlySpan<float> data)
    {
        var b = Allocate(data.Length, CudaDataType.Float32);
        b.Upload(data);
        return b;
    }

    /// <summary>A new float16 buffer holding a copy of <paramref name="data"/>.</summary>
    public static CudaBuffer FromHost(ReadOnlySpan<Half> data)
    {
        var b = Allocate(data.Length, CudaDataType.Float16);
        b.Upload(data);
        return b;
    }

    /// <summary>Copies all of <paramref name="data"/> (exactly <see cref="Length"/> values) into a <see cref="CudaDataType.Float32"/> buffer.</summary>
    public void Upload(ReadOnlySpan<float> data) => CopyIn(MemoryMarshal.AsBytes(data), data.Length, CudaDataType.Float32, nameof(data));

    /// <summary>Copies all of <paramref name="data"/> into a <see cref="CudaDataType.Float16"/> buffer.</summary>
    public void Upload(ReadOnlySpan<Half> data) => CopyIn(MemoryMarshal.AsBytes(data), data.Length, CudaDataType.Float16, nameof(data));

    /// <summary>Copies raw 16-bit patterns into a <see cref="CudaDataType.Float16"/> or <see cref="CudaDataType.BFloat16"/> buffer.</summary>
    public void UploadBits(ReadOnlySpan<ushort> data) => CopyIn(MemoryMarshal.AsBytes(data), data.Length, null, nameof(data));

    /// <summary>Copies the whole <see cref="CudaDataType.Float32"/> buffer into <paramref name="destination"/> (exactly <see cref="Length"/> values).</summary>
    public void Download(Span<float> destination) =>
        CopyOut(MemoryMarshal.AsBytes(destination), destination.Length, CudaDataType.Float32, nameof(destination));

    /// <summary>Copies the whole <see cref="CudaDataType.Float16"/> buffer into <paramref name="destination"/>.</summary>
    public void Download(Span<Half> destination) =>
        CopyOut(MemoryMarshal.AsBytes(destination), destination.Length, CudaDataType.Float16, nameof(destination));

    /// <summary>Copies the raw 16-bit patterns of a <see cref="CudaDataType.Float16"/> or <see cref="CudaDataType.BFloat16"/> buffer.</summary>
    public void DownloadBits(Span<ushort> destination) =>
        CopyOut(MemoryMarshal.AsBytes(destination), destination.Length, null, nameof(destination));

    private void CheckTransfer(int count, CudaDataType? required, string paramName)
    {
        ObjectDisposedException.ThrowIf(IsClosed, this);
        if (required is { } t && t != DataType)
            throw new ArgumentException($"This buffer holds {DataType}; the span's element type is {t}.", paramName);
        if (required is null && DataType == CudaDataType.Float32)
            throw new ArgumentException("Raw 16-bit transfers need a Float16 or BFloat16 buffer; this one holds Float32.", paramName);
        if (count != Length)
            throw new ArgumentException($"{paramName} has {count} elements; the buffer holds {Length}.", paramName);
    }

    private void CopyIn(ReadOnlySpan<byte> bytes, int count, CudaDataType? required, string paramName)
    {
        CheckTransfer(count, required, paramName);
        bool added = false;
        try
        {
            DangerousAddRef(ref added);
            fixed (byte* src = bytes)
                CudaCalls.Check(_library, _library.CopyToDevice(handle, src, (nuint)bytes.Length, 0));
        }
        finally
        {
            if (added) DangerousRelease();
        }
    }

    private void CopyOut(Span<byte> bytes, int count, CudaDataType? required, string paramName)
    {
        CheckTransfer(count, required, paramName);
        bool added = false;
        try
        {
            DangerousAddRef(ref added);
            fixed (byte* dst = bytes)
                CudaCalls.Check(_library, _library.CopyToHost(dst, handle, (nuint)bytes.Length, 0));
        }
        finally
        {
            if (added) DangerousRelease();
        }
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle() => _library.Free(handle) == SnStatus.Ok;

    /// <inheritdoc />
    public override string ToString() => $"CudaBuffer({Length} x {DataType}{(IsClosed ? ", disposed" : "")})";
}
