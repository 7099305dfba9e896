using Microsoft.ML.OnnxRuntime;

namespace SparseNative.Bench.Onnx;

/// <summary>Session options shared by every ONNX Runtime comparison: CPU provider, a fixed intra-op thread count.</summary>
internal static class OrtSessions
{
    /// <summary>
    /// Sequential execution with <paramref name="threads"/> intra-op threads (the operator's own parallelism), one
    /// inter-op thread (a one-node graph has nothing to overlap), all graph optimisations (nothing to fuse in one node).
    /// </summary>
    public static SessionOptions Options(int threads)
    {
        var o = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        // Spinning threads would steal the second core from whatever runs next on a 2-core machine.
        o.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        return o;
    }

    /// <summary>The version of the loaded native ONNX Runtime.</summary>
    public static string Version => OrtEnv.Instance().GetVersionString();
}
