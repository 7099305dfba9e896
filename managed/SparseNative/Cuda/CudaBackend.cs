using SparseNative.Interop;
using SparseNative.Interop.Cuda;
using SparseNative.Dispatch;

namespace SparseNative.Cuda;

/// <summary>
/// The dispatcher's <see cref="Backend.Cuda"/>: host spans copied to the GPU, the float32 kernel, results copied back
/// (<c>snc_attention_forward_host</c>; the backward through <c>snc_attention_backward_host</c>). Available only when <c>libsparsenative_cuda</c> loads and a device exists.
/// </summary>
internal sealed unsafe class CudaBackend : AttentionBackend
{
    public override Backend Kind => Backend.Cuda;

    public override string? UnavailableReason => SparseNativeCudaLibrary.Shared.UnavailableReason;

    public override string Details => SparseNativeCudaLibrary.Shared is { UnavailableReason: null } lib ? $"{lib.DeviceName}, {lib.LoadedFrom}" : "";

    public override bool Supports(in AttentionProblem problem, out string? reason)
    {
        if (!HeadDimFits(problem, "the CUDA kernels' tiles need it", out reason) || !PlainKeyValues(problem, out reason)) return false;
        int d = problem.Shape.HeadDim;
        reason = d > 256 ? $"head dimension {d} is above 256, the float32 CUDA kernel's limit" : null;
        return reason is null;
    }

    public override void Forward(in AttentionProblem p)
    {
        var layout = p.Layout;
        fixed (int* segQ = p.QuerySegments, segK = p.KeySegments)
        fixed (int* rows = layout.AllRowOffsets, cols = layout.AllColumnIndices)
        {
            Run(SparseNativeCudaLibrary.Shared, Native.NativeStructs.Problem(p, segQ, segK), Native.NativeStructs.Layout(layout, rows, cols),
                p.Query, p.Key, p.Value, p.Output, p.LogSumExp);
        }
    }

    public override string? BackwardUnavailableReason => null;

    /// <summary>The float32 CUDA backward (<c>snc_attention_backward_host</c>), its failure mapped by <see cref="Native.NativeErrors"/>.</summary>
    public override void Backward(in BackwardProblem b)
    {
        ref readonly var p = ref b.Forward;
        var layout = p.Layout;
        var lib = SparseNativeCudaLibrary.Shared;
        CudaCalls.EnsureAvailable(lib);
        fixed (int* segQ = p.QuerySegments, segK = p.KeySegments)
        fixed (int* rows = layout.AllRowOffsets, cols = layout.AllColumnIndices)
        fixed (float* q = p.Query, k = p.Key, v = p.Value, o = p.Output, lse = p.LogSumExp, dout = b.OutputGradient)
        fixed (float* dq = b.QueryGradient, dk = b.KeyGradient, dv = b.ValueGradient)
        {
            CudaCalls.Check(lib, lib.AttentionBackwardHost(Native.NativeStructs.Problem(p, segQ, segK),
                Native.NativeStructs.Layout(layout, rows, cols), SncDtype.F32,
                q, (nuint)p.Query.Length, k, (nuint)p.Key.Length, v, (nuint)p.Value.Length, o, (nuint)p.Output.Length,
                lse, (nuint)p.LogSumExp.Length, dout, (nuint)b.OutputGradient.Length, dq, (nuint)b.QueryGradient.Length,
                dk, (nuint)b.KeyGradient.Length, dv, (nuint)b.ValueGradient.Length));
        }
    }

    /// <summary>One call of <c>snc_attention_forward_host</c> (float32), its failure mapped by <see cref="Native.NativeErrors"/>.</summary>
    internal static void Run(SparseNativeCudaLibrary lib, in SnProblem problem, in SnLayout layout, ReadOnlySpan<float> query,
        ReadOnlySpan<float> key, ReadOnlySpan<float> value, Span<float> output, Span<float> logSumExp)
    {
        CudaCalls.EnsureAvailable(lib);
        fixed (float* q = query, k = key, v = value, o = output, lse = logSumExp)
        {
            CudaCalls.Check(lib, lib.AttentionForwardHost(problem, layout, SncDtype.F32,
                q, (nuint)query.Length, k, (nuint)key.Length, v, (nuint)value.Length, o, (nuint)output.Length,
                logSumExp.IsEmpty ? null : lse, (nuint)logSumExp.Length));
        }
    }
}
