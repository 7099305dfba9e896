using Microsoft.ML.OnnxRuntime;

namespace SparseNative.OnnxRuntime;

/// <summary>Registers SparseNative's ONNX Runtime operators with a session.</summary>
public static class SessionOptionsExtensions
{
    /// <summary>Registers the ops of the domain <c>ai.sparsenative</c> (SparseAttention, BlockSparseAttention) with
    /// <paramref name="options"/>. Throws <see cref="DllNotFoundException"/> with every probe attempt when no usable
    /// libsparsenative_ort is found, and ONNX Runtime's exception when registration fails.</summary>
    public static SessionOptions RegisterSparseNative(this SessionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var status = SparseNativeOrtLibrary.Status;
        if (!status.IsLoaded || status.Path is null) throw new DllNotFoundException(status.FailureReason);
        // A copy found by the system search path is reported by name; ONNX Runtime's own dlopen finds the same file.
        options.RegisterCustomOpLibrary(File.Exists(status.Path) ? status.Path : SparseNativeOrtLibrary.PlatformFileName);
        return options;
    }
}
