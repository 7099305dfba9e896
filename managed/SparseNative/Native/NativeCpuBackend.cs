using SparseNative.Interop;

namespace SparseNative.Native;

/// <summary>
/// The dispatcher's <see cref="Backend.NativeCpu"/>: the C library <c>libsparsenative</c> (portable C11, auto-vectorised,
/// its own thread pool) through <see cref="SparseNativeApi"/>. Available when the library loads and passes the ABI
/// self-check; otherwise unavailable with the loader's trace as the reason. The C side validates the problem again.
/// </summary>
internal sealed unsafe class NativeCpuBackend : AttentionBackend
{
    public override Backend Kind => Backend.NativeCpu;

    public override string? UnavailableReason =>
        SparseNativeLibrary.Status is { IsLoaded: false } s ? $"libsparsenative not loaded: {s.FailureReason}" : null;

    public override string Details => SparseNativeLibrary.Status is { IsLoaded: true } s ? $"{s.Path}: {s.BuildInfo}" : "";

    public override bool Supports(in AttentionProblem problem, out string? reason)
    {
        return HeadDimFits(problem, "the C kernel's tiles need it", out reason);
    }

    public override void Forward(in AttentionProblem p)
    {
        var layout = p.Layout;
        fixed (int* segQ = p.QuerySegments, segK = p.KeySegments)
        fixed (int* rows = layout.AllRowOffsets, cols = layout.AllColumnIndices)
        {
            var native = NativeStructs.Layout(layout, rows, cols);
            var problem = NativeStructs.Problem(p, segQ, segK);
            SparseNativeApi.AttentionForward(problem, native, p.Query, p.Key, p.Value, p.Output, p.LogSumExp);
        }
    }
}
