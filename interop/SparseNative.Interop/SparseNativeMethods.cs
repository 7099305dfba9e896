using System.Runtime.InteropServices;

namespace SparseNative.Interop;

/// <summary>
/// Raw bindings of sparse_native.h, one method per C function, all blittable. The first call into this
/// class loads and ABI-checks the native library (see <see cref="SparseNativeLibrary"/>); if that fails,
/// the call throws <see cref="DllNotFoundException"/> whose message is
/// <see cref="NativeLibraryStatus.FailureReason"/>. Prefer <see cref="SparseNativeApi"/>, which takes spans,
/// passes their lengths and turns statuses into exceptions.
/// </summary>
public static unsafe partial class SparseNativeMethods
{
    /// <summary>The library name used in the imports (resolved by <see cref="SparseNativeLibrary"/>).</summary>
    public const string LibraryName = "sparsenative";

    /// <summary>The <c>SN_ABI_VERSION</c> these bindings mirror; the loader refuses any other.</summary>
    public const int AbiVersion = 4;

    // An explicit static constructor (no beforefieldinit) runs before the first call of any method here,
    // so the resolver is always in place before the runtime resolves the first import.
    static SparseNativeMethods() => SparseNativeLibrary.RegisterResolver();

    /// <summary><c>int32_t sn_abi_version(void)</c>.</summary>
    [LibraryImport(LibraryName, EntryPoint = "sn_abi_version")]
    public static partial int sn_abi_version();

    /// <summary><c>const char* sn_last_error(void)</c>: this thread's last message (UTF-8, owned by the library).</summary>
    [LibraryImport(LibraryName, EntryPoint = "sn_last_error")]
    public static partial byte* sn_last_error();

    /// <summary><c>const char* sn_status_name(sn_status)</c> (static storage).</summary>
    [LibraryImport(LibraryName, EntryPoint = "sn_status_name")]
    public static partial byte* sn_status_name(SnStatus status);

    /// <summary><c>const char* sn_build_info(void)</c> (static storage).</summary>
    [LibraryImport(LibraryName, EntryPoint = "sn_build_info")]
    public static partial byte* sn_build_info();

    /// <summary><c>int32_t sn_struct_layout(int32_t which, int32_t* size, int32_t* offsets, int32_t max_offsets)</c>:
    /// returns the field count, or -1 for an unknown struct.</summary>
    [LibraryImport(LibraryName, EntryPoint = "sn_struct_layout")]
    public static partial int sn_struct_layout(SnStructId which, int* size, int* offsets, int maxOffsets);

    /// <summary><c>sn_attention_forward</c>: the tensors hold elements of the problem's dtypes; lengths are element
    /// counts; <paramref name="lse"/> (float32) may be null (then <paramref name="lseLength"/> must be 0).</summary>
    [LibraryImport(LibraryName, EntryPoint = "sn_attention_forward")]
    public static partial SnStatus sn_attention_forward(
        SnProblem* problem, SnLayout* layout,
        void* q, nuint qLength,
        void* k, nuint kLength,
        void* v, nuint vLength,
        void* output, nuint outputLength,
        float* lse, nuint lseLength);

    /// <summary><c>sn_attention_backward</c>: lengths are element counts; every buffer is required (lse included).</summary>
    [LibraryImport(LibraryName, EntryPoint = "sn_attention_backward")]
    public static partial SnStatus sn_attention_backward(
        SnProblem* problem, SnLayout* layout,
        float* q, nuint qLength,
        float* k, nuint kLength,
        float* v, nuint vLength,
        float* output, nuint outputLength,
        float* lse, nuint lseLength,
        float* outputGradient, nuint outputGradientLength,
        float* queryGradient, nuint queryGradientLength,
        float* keyGradient, nuint keyGradientLength,
        float* valueGradient, nuint valueGradientLength);

    /// <summary>The message of the last failed native call on this thread ("" if it succeeded).</summary>
    public static string LastError() => Utf8(sn_last_error());

    /// <summary>The native build description (compiler, flags, kernel variants, selected ISA).</summary>
    public static string BuildInfo() => Utf8(sn_build_info());

    internal static string Utf8(byte* text) => text == null ? string.Empty : Marshal.PtrToStringUTF8((nint)text) ?? string.Empty;
}
