using SparseNative.Interop;

namespace SparseNative.OnnxRuntime;

/// <summary>The op library libsparsenative_ort: found by the same probe as every SparseNative native library
/// (an explicit path or <c>SPARSENATIVE_ORT_PATH</c>, else <c>runtimes/&lt;rid&gt;/native/</c> and the application
/// folder, else the system search path) and checked before ONNX Runtime is given its path.</summary>
public static class SparseNativeOrtLibrary
{
    /// <summary>The environment variable naming the library file (or its folder); exclusive when set.</summary>
    public const string PathEnvironmentVariable = "SPARSENATIVE_ORT_PATH";

    /// <summary>The custom-operator domain of the library's ops.</summary>
    public const string Domain = "ai.sparsenative";

    /// <summary>The ABI version of libsparsenative_ort these bindings register.</summary>
    public const int AbiVersion = 1;

    private static readonly NativeLibrarySlot Slot = new(new NativeLibrarySpec("sparsenative_ort", PathEnvironmentVariable,
        $"{nameof(SparseNativeOrtLibrary)}.{nameof(ExplicitPath)}", new AbiContract("sno", AbiVersion, ["RegisterCustomOps"])));

    /// <summary>libsparsenative_ort.so (libsparsenative_ort.dylib, sparsenative_ort.dll).</summary>
    public static string PlatformFileName => Slot.Spec.PlatformFileName;

    /// <summary>The library file (or folder) to use instead of probing; set before the first registration.</summary>
    public static string? ExplicitPath
    {
        get => Slot.ExplicitPath;
        set => Slot.ExplicitPath = value;
    }

    /// <summary>The probe's outcome: the path used, or why no library could be used (with every attempt).</summary>
    public static NativeLibraryStatus Status => Slot.Status;
}
