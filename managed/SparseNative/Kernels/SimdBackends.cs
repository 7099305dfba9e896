using System.Runtime.Intrinsics;
using SparseNative.Kernels.Isa;
using SparseNative.Dispatch;
using SparseNative.Kernels.Backward;

namespace SparseNative.Kernels;

/// <summary>What the four SIMD backends share: the head-dimension rule, with the reason they need it.</summary>
internal abstract class SimdBackend : AttentionBackend
{
    /// <summary>float32, float16 and bfloat16, in the combinations <see cref="Elements.TensorTypes"/> describes.</summary>
    public override bool SupportsTypes(Elements.TensorTypes types, out string? reason)
    {
        reason = null;
        return true;
    }

    public override bool Supports(in AttentionProblem problem, out string? reason) =>
        HeadDimFits(problem, "the SIMD kernels never load a partial vector; Backend.Reference handles it", out reason);

    public override string? BackwardUnavailableReason => null;
}

/// <summary>The fused kernel on 512-bit AVX-512 registers.</summary>
internal sealed class Avx512Backend : SimdBackend
{
    public override Backend Kind => Backend.Avx512;
    public override string? UnavailableReason => Avx512Isa.UnavailableReason;
    public override string Details =>
        $"Vector512, {MicroKernels<Avx512Isa, Vector512<float>>.TileDescription}; head dims that are odd multiples of 8 " +
        $"(8, 24, 40, …) run the same kernel on Vector256, {MicroKernels<Avx2Isa, Vector256<float>>.TileDescription}";

    public override void Forward(in AttentionProblem problem)
    {
        // A 16-wide vector cannot cover d = 16k + 8 without reading past a row; those dims use 8-wide vectors. So does a decode
        // step whose passes have at most 8 rows (GQA 4 and 8 at one query): the score lanes are rows, and on Zen 4 two 8-wide
        // FMAs cost what one 16-wide does, so 16 lanes would spend half the score work on padding. Same arithmetic per lane.
        var s = problem.Shape;
        bool narrowDecode = Decode.DecodePlan.Applies(s, problem.Layout) && Decode.DecodePlan.WidestPass(s, problem.Layout) <= Vector256<float>.Count;
        if (s.HeadDim % Vector512<float>.Count == 0 && !narrowDecode) FusedForward.Run<Avx512Isa, Vector512<float>>(problem);
        else FusedForward.Run<Avx2Isa, Vector256<float>>(problem);
    }

    public override void Backward(in BackwardProblem problem)
    {
        if (problem.Forward.Shape.HeadDim % Vector512<float>.Count == 0) FusedBackward.Run<Avx512Isa, Vector512<float>>(problem);
        else FusedBackward.Run<Avx2Isa, Vector256<float>>(problem);
    }
}

/// <summary>The fused kernel on 256-bit AVX2 + FMA registers.</summary>
internal sealed class Avx2Backend : SimdBackend
{
    public override Backend Kind => Backend.Avx2;
    public override string? UnavailableReason => Avx2Isa.UnavailableReason;
    public override string Details => $"Vector256 + FMA, {MicroKernels<Avx2Isa, Vector256<float>>.TileDescription}";
    public override void Forward(in AttentionProblem problem) => FusedForward.Run<Avx2Isa, Vector256<float>>(problem);
    public override void Backward(in BackwardProblem problem) => FusedBackward.Run<Avx2Isa, Vector256<float>>(problem);
}

/// <summary>The fused kernel on Arm64 AdvSimd (NEON) registers.</summary>
internal sealed class NeonBackend : SimdBackend
{
    public override Backend Kind => Backend.Neon;
    public override string? UnavailableReason => NeonIsa.UnavailableReason;
    public override string Details => $"AdvSimd 128-bit, {MicroKernels<NeonIsa, Vector128<float>>.TileDescription}";
    public override void Forward(in AttentionProblem problem) => FusedForward.Run<NeonIsa, Vector128<float>>(problem);
    public override void Backward(in BackwardProblem problem) => FusedBackward.Run<NeonIsa, Vector128<float>>(problem);
}

/// <summary>The fused kernel on cross-platform Vector128 (SSE on x64, NEON on arm64).</summary>
internal sealed class PortableBackend : SimdBackend
{
    public override Backend Kind => Backend.Portable;
    public override string? UnavailableReason => PortableIsa.UnavailableReason;
    public override string Details => $"Vector128, {MicroKernels<PortableIsa, Vector128<float>>.TileDescription}";
    public override void Forward(in AttentionProblem problem) => FusedForward.Run<PortableIsa, Vector128<float>>(problem);
    public override void Backward(in BackwardProblem problem) => FusedBackward.Run<PortableIsa, Vector128<float>>(problem);
}
