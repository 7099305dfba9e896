using SparseNative.Dispatch;
using SparseNative.Elements;
using SparseNative.Interop;

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

    /// <summary>float32, float16 and bfloat16 tensors: the C library widens them in its kernel (SN_ABI_VERSION 4).</summary>
    public override bool SupportsTypes(Elements.TensorTypes types, out string? reason)
    {
        reason = null;
        return true;
    }

    public override bool Supports(in AttentionProblem problem, out string? reason)
    {
        return HeadDimFits(problem, "the C kernel's tiles need it", out reason) && PlainKeyValues(problem, out reason);
    }

    public override void Forward(in AttentionProblem p)
    {
        var layout = p.Layout;
        int qSize = p.Types.QueryOutput.Size(), kvSize = p.Types.KeyValue.Size();
        fixed (int* segQ = p.QuerySegments, segK = p.KeySegments)
        fixed (int* rows = layout.AllRowOffsets, cols = layout.AllColumnIndices)
        fixed (byte* q = p.QueryData, k = p.KeyData, v = p.ValueData, o = p.OutputData)
        {
            Run(NativeStructs.Problem(p, segQ, segK), NativeStructs.Layout(layout, rows, cols),
                q, (nuint)(p.QueryData.Length / qSize), k, (nuint)(p.KeyData.Length / kvSize), v,
                (nuint)(p.ValueData.Length / kvSize), o, (nuint)(p.OutputData.Length / qSize), p.LogSumExp);
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
        fixed (float* qp = q, kp = k, vp = v, op = output)
            Run(problem, layout, qp, (nuint)q.Length, kp, (nuint)k.Length, vp, (nuint)v.Length, op, (nuint)output.Length, lse);
    }

    /// <summary><see cref="Run(in SnProblem, in SnLayout, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, Span{float})"/>
    /// on pinned tensors of the problem's element types (lengths in elements).</summary>
    private static void Run(in SnProblem problem, in SnLayout layout, void* q, nuint qLength, void* k, nuint kLength, void* v,
        nuint vLength, void* output, nuint outputLength, Span<float> lse)
    {
        try
        {
            SparseNativeApi.AttentionForward(problem, layout, q, qLength, k, kLength, v, vLength, output, outputLength, lse);
        }
        catch (SparseNativeException e)
        {
            throw NativeErrors.ToException(Backend.NativeCpu, e.Status, e.NativeMessage);
        }
    }
}
