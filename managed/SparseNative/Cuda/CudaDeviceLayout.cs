using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SparseNative.Cuda;

/// <summary>
/// A <see cref="BlockLayout"/> uploaded to the GPU (an <c>snc_layout</c>), validated and copied once and then reused by every
/// device-path call with that layout object. Kept in a weak table keyed by the layout, so it lives as long as the layout does
/// and its device memory is freed by the finalizer after the layout is collected.
/// </summary>
internal sealed unsafe class CudaDeviceLayout : SafeHandle
{
    private static readonly ConditionalWeakTable<BlockLayout, CudaDeviceLayout> s_uploaded = new();
    private readonly CudaLibrary _library;

    private CudaDeviceLayout(CudaLibrary library) : base(0, ownsHandle: true) => _library = library;

    public override bool IsInvalid => handle == 0;

    /// <summary>The device copy of <paramref name="layout"/>, uploading it on first use.</summary>
    public static CudaDeviceLayout For(CudaLibrary library, BlockLayout layout) =>
        s_uploaded.GetValue(layout, l => Upload(library, l));

    private static CudaDeviceLayout Upload(CudaLibrary library, BlockLayout layout)
    {
        var result = new CudaDeviceLayout(library);
        fixed (int* rows = layout.AllRowOffsets)
        fixed (int* cols = layout.AllColumnIndices)
        {
            var native = new SnLayout
            {
                BlockSize = layout.BlockSize, QueryBlocks = layout.QueryBlocks, KeyBlocks = layout.KeyBlocks,
                NumLayouts = layout.LayoutCount, NumColIndices = layout.AllColumnIndices.Length, RowOffsets = rows, ColIndices = cols,
            };
            void* handle;
            int status = library.LayoutCreate(&native, &handle);
            if (status != SnStatus.Ok)
            {
                result.SetHandleAsInvalid();
                library.Check(status, "layout");
            }
            result.SetHandle((nint)handle);
        }
        return result;
    }

    protected override bool ReleaseHandle() => _library.LayoutDestroy((void*)handle) == SnStatus.Ok;
}
