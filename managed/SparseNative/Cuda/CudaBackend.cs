using SparseNative.Interop;
using SparseNative.Interop.Cuda;

namespace SparseNative.Cuda;

/// <summary>
/// The dispatcher's <see cref="Backend.Cuda"/>: host spans copied to the GPU, the float32 kernel, results copied back
/// (<c>snc_attention_forward_host</c>). Available only when <c>libsparsenative_cuda</c> loads and a device exists.
/// </summary>
internal sealed unsafe class CudaBackend : AttentionBackend
{
    public override Backend Kind => Backend.Cuda;

    public override string? UnavailableReason => SparseNativeCudaLibrary.Shared.UnavailableReason;

    public override string Details => SparseNativeCudaLibrary.Shared is { UnavailableReason: null } lib ? $"{lib.DeviceName}, {lib.LoadedFrom}" : "";

    public override bool Supports(in AttentionProblem problem, out string? reason)
    {
        if (!HeadDimFits(problem, "the CUDA kernels' tiles need it", out reason)) return false;
        int d = problem.Shape.HeadDim;
        reason = d > 256 ? $"head dimension {d} is above 256, the float32 CUDA kernel's limit" : null;
        return reason is null;
    }

    public override void Forward(in AttentionProblem p)
    {
        var lib = SparseNativeCudaLibrary.Shared;
        CudaCalls.EnsureAvailable(lib);
        var layout = p.Layout;
        fixed (float* q = p.Query, k = p.Key, v = p.Value, o = p.Output, lse = p.LogSumExp)
        fixed (int* segQ = p.QuerySegments, segK = p.KeySegments)
        fixed (int* rows = layout.AllRowOffsets, cols = layout.AllColumnIndices)
        {
            var native = Native.NativeStructs.Layout(layout, rows, cols);
            var problem = Native.NativeStructs.Problem(p, segQ, segK);
            CudaCalls.Check(lib, lib.AttentionForwardHost(problem, native, SncDtype.F32,
                q, (nuint)p.Query.Length, k, (nuint)p.Key.Length, v, (nuint)p.Value.Length, o, (nuint)p.Output.Length,
                p.HasLogSumExp ? lse : null, p.HasLogSumExp ? (nuint)p.LogSumExp.Length : 0));
        }
    }
}
