using System.Buffers;
using System.Runtime.InteropServices;

namespace SparseNative.Tests;

/// <summary>Where a <see cref="GuardedMemory{T}"/> puts its inaccessible page.</summary>
public enum GuardSide
{
    /// <summary>The data ends exactly at a page boundary and the next page is inaccessible: catches reads and writes past the end.</summary>
    After,

    /// <summary>The data starts exactly after an inaccessible page: catches reads and writes before the start.</summary>
    Before,
}

/// <summary>
/// Memory for one tensor placed against a <c>PROT_NONE</c> page (the BoundedMemory idea of dotnet/runtime's
/// System.Numerics.Tensors tests), so that any access outside it raises SIGSEGV. Run code that touches it in a child process
/// (<see cref="ChildTestProcess"/>): a fault kills the child and the parent test fails for want of a test summary.
/// </summary>
internal sealed unsafe class GuardedMemory<T> : MemoryManager<T> where T : unmanaged
{
        private static readonly nuint PageSize = (nuint)Environment.SystemPageSize;

    private readonly byte* _mapping;
    private readonly nuint _mappingBytes;
    private readonly T* _data;
    private readonly int _length;

    public GuardedMemory(int length, GuardSide side)
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("guard pages use Linux mmap/mprotect");
        _length = length;
        nuint bytes = (nuint)length * (nuint)sizeof(T);
        nuint dataPages = (bytes + PageSize - 1) / PageSize;
        _mappingBytes = (dataPages + 2) * PageSize; // one guard page on each side, only one of them made inaccessible
        _mapping = (byte*)Libc.Mmap(null, _mappingBytes, Libc.ProtReadWrite, Libc.MapPrivate | Libc.MapAnonymous, -1, 0);
        if ((nint)_mapping == -1) throw new OutOfMemoryException($"mmap of {_mappingBytes} bytes failed (errno {Marshal.GetLastPInvokeError()})");
        byte* firstData = _mapping + PageSize, guardAfter = firstData + dataPages * PageSize;
        if (side == GuardSide.After)
        {
            _data = (T*)(guardAfter - bytes);
            Protect(guardAfter);
        }
        else
        {
            _data = (T*)firstData;
            Protect(_mapping);
        }
    }

    /// <summary>A guarded copy of <paramref name="source"/>.</summary>
    public static GuardedMemory<T> CopyOf(ReadOnlySpan<T> source, GuardSide side)
    {
        var m = new GuardedMemory<T>(source.Length, side);
        source.CopyTo(m.GetSpan());
        return m;
    }

    private void Protect(byte* page)
    {
        if (Libc.Mprotect(page, PageSize, Libc.ProtNone) != 0)
            throw new InvalidOperationException($"mprotect failed (errno {Marshal.GetLastPInvokeError()})");
    }

    public Span<T> Span => GetSpan();

    public override Span<T> GetSpan() => new(_data, _length);

    public override MemoryHandle Pin(int elementIndex = 0) => new(_data + elementIndex);

    public override void Unpin() { }

    protected override void Dispose(bool disposing) => Libc.Munmap(_mapping, _mappingBytes);
}

/// <summary>The Linux calls behind <see cref="GuardedMemory{T}"/> (P/Invoke cannot live in a generic type).</summary>
internal static unsafe partial class Libc
{
    public const int ProtNone = 0, ProtReadWrite = 3, MapPrivate = 0x02, MapAnonymous = 0x20;

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    public static partial void* Mmap(void* address, nuint length, int protection, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "mprotect", SetLastError = true)]
    public static partial int Mprotect(void* address, nuint length, int protection);

    [LibraryImport("libc", EntryPoint = "munmap")]
    public static partial int Munmap(void* address, nuint length);
}
