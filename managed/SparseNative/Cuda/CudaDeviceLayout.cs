using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SparseNative.Interop;
using SparseNative.Interop.Cuda;

namespace SparseNative.Cuda;

/// <summary>
/// A <see cref="BlockLayout"/> uploaded to the GPU (an <c>snc_layout</c>), validated and copied once and then reused by every
/// device-path call with that layout object. Kept in a weak table keyed by the layout, so it lives as long as the layout does
/// and its device memory is freed by the finalizer after the layout is collected.
/// </summary>
internal sealed unsafe class CudaDeviceLayout : SafeHandle
{
    private static readonly ConditionalWeakTable<BlockLayout, CudaDeviceLayout> s_uploaded = new();
    private readonly SparseNativeCudaLibrary _library;

    private CudaDeviceLayout(SparseNativeCudaLibrary library) : base(0, ownsHandle: true) => _library = library;

    public override bool IsInvalid => handle == 0;

    /// <summary>The device copy of <paramref name="layout"/>, uploading it on first use.</summary>
    public static CudaDeviceLayout For(SparseNativeCudaLibrary library, BlockLayout layout) =>
        s_uploaded.GetValue(layout, l => Upload(library, l));

    private static CudaDeviceLayout Upload(SparseNativeCudaLibrary library, BlockLayout layout)
    {
        var result = new CudaDeviceLayout(library);
        fixed (int* rows = layout.AllRowOffsets)
        fixed (int* cols = layout.AllColumnIndices)
        {
            var native = Native.NativeStructs.Layout(layout, rows, cols);
            var status = library.LayoutCreate(native, out nint handle);
            if (status != SnStatus.Ok)
            {
                result.SetHandleAsInvalid();
                CudaCalls.Check(library, status, "layout");
            }
            result.SetHandle(handle);
        }
        return result;
    }

    protected override bool ReleaseHandle() => _library.LayoutDestroy(handle) == SnStatus.Ok;
}
