using System.Runtime.InteropServices;

namespace SparseNative.Interop;

/// <summary>What a library of ours must export and report to be bound: the prefix of its self-description
/// (<c>{prefix}_abi_version</c>, <c>{prefix}_struct_layout</c>, <c>{prefix}_build_info</c>), the ABI version these
/// bindings were written for, and every export the bindings use.</summary>
internal sealed record AbiContract(string Prefix, int ExpectedVersion, IReadOnlyList<string> Exports);

/// <summary>
/// Compares a freshly loaded library with these bindings before anything is bound to it: the exports exist, the ABI
/// version matches, and <c>sn_layout</c> and <c>sn_problem</c> (shared by the CPU and CUDA libraries) have the same size
/// and field offsets as their [StructLayout(Sequential)] mirrors (Marshal.SizeOf/OffsetOf), as reported by the library's
/// own <c>{prefix}_struct_layout</c>. Calls go through function pointers from NativeLibrary.GetExport, so checking a
/// candidate never binds it.
/// </summary>
internal static unsafe class AbiCheck
{
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
        nameof(SnProblem.QDtype), nameof(SnProblem.KDtype), nameof(SnProblem.VDtype), nameof(SnProblem.OutDtype),
    ];

    /// <summary>Null if the library matches <paramref name="contract"/>; otherwise the reason. Never throws.</summary>
    public static string? Verify(nint handle, AbiContract contract, out int abiVersion, out string? buildInfo)
    {
        abiVersion = 0;
        buildInfo = null;
        string p = contract.Prefix;
        try
        {
            foreach (string name in contract.Exports.Concat([$"{p}_abi_version", $"{p}_struct_layout", $"{p}_build_info"]))
            {
                if (!NativeLibrary.TryGetExport(handle, name, out _))
                    return $"missing export '{name}': not this SparseNative library, or one built for another ABI";
            }

            var version = (delegate* unmanaged<int>)NativeLibrary.GetExport(handle, $"{p}_abi_version");
            abiVersion = version();
            if (abiVersion != contract.ExpectedVersion)
                return $"ABI version mismatch: the library reports {p}_abi_version() = {abiVersion}, " +
                       $"these bindings (SparseNative.Interop) need {contract.ExpectedVersion}";

            var layout = (delegate* unmanaged<SnStructId, int*, int*, int, int>)NativeLibrary.GetExport(handle, $"{p}_struct_layout");
            string? mismatch = CompareStruct<SnLayout>(layout, SnStructId.Layout, "sn_layout", LayoutFields)
                               ?? CompareStruct<SnProblem>(layout, SnStructId.Problem, "sn_problem", ProblemFields);
            if (mismatch != null) return mismatch;

            var info = (delegate* unmanaged<byte*>)NativeLibrary.GetExport(handle, $"{p}_build_info");
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
