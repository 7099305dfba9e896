using SparseNative.Interop;
using SparseNative.Dispatch;

namespace SparseNative.Native;

/// <summary>
/// The dispatcher's <see cref="Backend.NativeCpu"/>: the C library <c>libsparsenative</c> (portable C11, auto-vectorised,
/// pthreads created per call) through <see cref="SparseNativeApi"/>. Available when the library loads and passes the ABI
/// self-check; otherwise unavailable with the loader's trace as the reason. The C side validates the problem again; its
/// statuses become the documented exceptions through <see cref="NativeErrors"/>.
/// </summary>
internal sealed unsafe class NativeCpuBackend : AttentionBackend
{
    public override Backend Kind => Backend.NativeCpu;

    public override string? UnavailableReason => SparseNativeLibrary.Status.FailureReason;

    public override string Details => SparseNativeLibrary.Status is { IsLoaded: true } s ? $"{s.Path}: {s.BuildInfo}" : "";

    public override bool Supports(in AttentionProblem problem, out string? reason)
    {
        return HeadDimFits(problem, "the C kernel's tiles need it", out reason) && PlainKeyValues(problem, out reason);
    }

    public override void Forward(in AttentionProblem p)
    {
        var layout = p.Layout;
        fixed (int* segQ = p.QuerySegments, segK = p.KeySegments)
        fixed (int* rows = layout.AllRowOffsets, cols = layout.AllColumnIndices)
        {
            Run(NativeStructs.Problem(p, segQ, segK), NativeStructs.Layout(layout, rows, cols), p.Query, p.Key, p.Value, p.Output,
                p.LogSumExp);
        }
    }

    public override string? BackwardUnavailableReason => null;

    public override void Backward(in BackwardProblem b)
    {
        ref readonly var p = ref b.Forward;
        var layout = p.Layout;
        fixed (int* segQ = p.QuerySegments, segK = p.KeySegments)
        fixed (int* rows = layout.AllRowOffsets, cols = layout.AllColumnIndices)
        {
            try
            {
                SparseNativeApi.AttentionBackward(NativeStructs.Problem(p, segQ, segK), NativeStructs.Layout(layout, rows, cols),
                    p.Query, p.Key, p.Value, p.Output, p.LogSumExp, b.OutputGradient, b.QueryGradient, b.KeyGradient, b.ValueGradient);
            }
            catch (SparseNativeException e)
            {
                throw NativeErrors.ToException(Backend.NativeCpu, e.Status, e.NativeMessage);
            }
        }
    }

    /// <summary>One call of <c>sn_attention_forward</c>, its failure mapped by <see cref="NativeErrors"/>.</summary>
    internal static void Run(in SnProblem problem, in SnLayout layout, ReadOnlySpan<float> q, ReadOnlySpan<float> k,
        ReadOnlySpan<float> v, Span<float> output, Span<float> lse)
    {
        try
        {
            SparseNativeApi.AttentionForward(problem, layout, q, k, v, output, lse);
        }
        catch (SparseNativeException e)
        {
            throw NativeErrors.ToException(Backend.NativeCpu, e.Status, e.NativeMessage);
        }
    }
}
