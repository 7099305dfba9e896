using System.Runtime.InteropServices;

namespace SparseNative.Interop;

/// <summary>
/// Compares a freshly loaded library with these bindings before any import is bound to it: the exports
/// exist, the ABI version matches, and every public struct has the same size and field offsets as its
/// [StructLayout(Sequential)] mirror (Marshal.SizeOf/OffsetOf). Calls go through function pointers from
/// NativeLibrary.GetExport, not through the imports, so checking a candidate never binds it.
/// </summary>
internal static unsafe class AbiCheck
{
    private static readonly string[] RequiredExports =
    [
        "sn_abi_version", "sn_last_error", "sn_status_name", "sn_build_info", "sn_struct_layout",
        "sn_attention_forward", "sn_merge_states",
    ];

    private static readonly string[] LayoutFields =
    [
        nameof(SnLayout.BlockSize), nameof(SnLayout.QueryBlocks), nameof(SnLayout.KeyBlocks),
        nameof(SnLayout.NumLayouts), nameof(SnLayout.NumColIndices), nameof(SnLayout.Reserved),
        nameof(SnLayout.RowOffsets), nameof(SnLayout.ColIndices),
    ];

    private static readonly string[] ProblemFields =
    [
        nameof(SnProblem.Batch), nameof(SnProblem.QueryHeads), nameof(SnProblem.KvHeads),
        nameof(SnProblem.QueryLength), nameof(SnProblem.KeyLength), nameof(SnProblem.HeadDim),
        nameof(SnProblem.Format), nameof(SnProblem.Flags), nameof(SnProblem.Scale),
        nameof(SnProblem.NumThreads), nameof(SnProblem.QuerySegmentIds), nameof(SnProblem.KeySegmentIds),
    ];

    /// <summary>Null if the library matches; otherwise the reason. Never throws.</summary>
    public static string? Verify(nint handle, out int abiVersion, out string? buildInfo)
    {
        abiVersion = 0;
        buildInfo = null;
        try
        {
            foreach (string name in RequiredExports)
            {
                if (!NativeLibrary.TryGetExport(handle, name, out _))
                    return $"missing export '{name}': not a SparseNative library, or one built for another ABI";
            }

            var version = (delegate* unmanaged<int>)NativeLibrary.GetExport(handle, "sn_abi_version");
            abiVersion = version();
            if (abiVersion != SparseNativeMethods.AbiVersion)
                return $"ABI version mismatch: the library reports sn_abi_version() = {abiVersion}, " +
                       $"these bindings (SparseNative.Interop) need {SparseNativeMethods.AbiVersion}";

            var layout = (delegate* unmanaged<SnStructId, int*, int*, int, int>)NativeLibrary.GetExport(handle, "sn_struct_layout");
            string? mismatch = CompareStruct<SnLayout>(layout, SnStructId.Layout, "sn_layout", LayoutFields)
                               ?? CompareStruct<SnProblem>(layout, SnStructId.Problem, "sn_problem", ProblemFields);
            if (mismatch != null) return mismatch;

            var info = (delegate* unmanaged<byte*>)NativeLibrary.GetExport(handle, "sn_build_info");
            buildInfo = SparseNativeMethods.Utf8(info());
            return null;
        }
        catch (Exception e)
        {
            return $"ABI check failed: {e.GetType().Name}: {e.Message}";
        }
    }

    private static string? CompareStruct<T>(delegate* unmanaged<SnStructId, int*, int*, int, int> layout, SnStructId id,
                                            string nativeName, string[] fields) where T : unmanaged
    {
        int size = 0;
        int* offsets = stackalloc int[32];
        int count = layout(id, &size, offsets, 32);
        int managedSize = Marshal.SizeOf<T>();
        if (count < 0)
            return $"ABI mismatch: the library does not describe {nativeName} (struct id {(int)id})";
        if (count != fields.Length)
            return $"ABI mismatch: {nativeName} has {count} fields in the library but {fields.Length} in {typeof(T).Name}";
        for (int i = 0; i < fields.Length; ++i)
        {
            int managed = (int)Marshal.OffsetOf<T>(fields[i]);
            if (offsets[i] != managed)
                return $"ABI mismatch: {nativeName} field {i} ({typeof(T).Name}.{fields[i]}) is at offset {offsets[i]} " +
                       $"in the library but {managed} in SparseNative.Interop (sizes: native {size}, managed {managedSize})";
        }
        if (size != managedSize || size != sizeof(T))
            return $"ABI mismatch: sizeof({nativeName}) is {size} in the library but Marshal.SizeOf<{typeof(T).Name}>() " +
                   $"is {managedSize} (managed sizeof {sizeof(T)})";
        return null;
    }
}
