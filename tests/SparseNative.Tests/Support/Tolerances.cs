namespace SparseNative.Tests;

/// <summary>
/// The accuracy bounds of the tests, each with the reason for its value. Outputs are compared with
/// <see cref="TestData.RelativeError"/> (‖actual − expected‖ / ‖expected‖ over the whole tensor), log-sum-exp with
/// <see cref="TestData.MaxLseError"/> (the largest absolute difference, natural-log units, equal infinities agreeing).
/// </summary>
internal static class Tolerances
{
    /// <summary>
    /// A float32 backend (managed SIMD, NativeCpu, CUDA float32) against the float64 reference: float32 accumulation
    /// over up to a few thousand keys and head dims up to 256, plus the 2^x polynomial (relative error below 3e-7).
    /// Observed errors are around 1e-7; 1e-5 is the documented contract.
    /// </summary>
    public const double ForwardRelative = 1e-5;

    /// <summary>
    /// Two float32 backends against each other: each is within <see cref="ForwardRelative"/> of the reference, so by
    /// the triangle inequality within twice that of each other.
    /// </summary>
    public const double CrossBackendRelative = 2 * ForwardRelative;

    /// <summary>
    /// Two float64 computations of the same result, each rounded once to float32 (the reference against
    /// <see cref="NaiveDense"/>, a packed call against its sequences alone), possibly combined by a few float32
    /// operations (MergeStates, split-key chunks): they agree to float32 rounding, 6e-8 relative per element.
    /// </summary>
    public const double RoundedOnceRelative = 1e-6;

    /// <summary>
    /// Log-sum-exp of any float32 result, absolute: the values reach tens (the largest scaled score plus the log of
    /// the key count), where one float32 ulp is about 2e-6, and float32 accumulation adds a few ulps. The CUDA kernels
    /// compute it the same way as the CPU ones ((m + log2 l) · ln 2 with IEEE exp2f/log2f, no fast-math), so they
    /// share the bound (the emulated CUDA library shows at most 4.8e-7; the bound was once 1e-4 for CUDA, for no
    /// stated reason).
    /// </summary>
    public const double LogSumExp = 1e-5;

    /// <summary>
    /// A float32 backward (dQ, dK, dV of the managed SIMD backends) against the float64 reference backward: float32 GEMMs
    /// over up to a few hundred keys, P recomputed through the 2^x polynomial from the forward's float32 log-sum-exp, and
    /// the cancellation in dP − D. Observed errors are around 1e-6 (peaked softmax included); the bound leaves two orders of magnitude for larger problems.
    /// </summary>
    public const double BackwardRelative = 1e-4;

    /// <summary>
    /// The output bound for <paramref name="backend"/> against a float64 computation: <see cref="RoundedOnceRelative"/>
    /// for the reference, <see cref="ForwardRelative"/> for the float32 backends (Auto included).
    /// </summary>
    public static double Relative(Backend backend) => backend == Backend.Reference ? RoundedOnceRelative : ForwardRelative;

    /// <summary>
    /// The CUDA float16/bfloat16 tensor-core path against the reference fed the same rounded inputs: the
    /// probabilities are rounded to the input type before P·V and the output is stored in it (bfloat16 keeps 8
    /// significant bits, 2⁻⁹ ≈ 2e-3 relative per rounding), so a few roundings stay under 1e-2.
    /// </summary>
    public const double HalfPrecisionRelative = 1e-2;

    /// <summary>
    /// Log-sum-exp of the CUDA float16/bfloat16 path. Its scores are float32 sums of exact products of the rounded
    /// inputs, so in principle it is as accurate as <see cref="LogSumExp"/> (the CPU emulation shows 4.8e-7); but
    /// tensor-core accumulation does not round like IEEE float32, and no GPU run has measured it tighter (the native
    /// GPU test uses the same bound).
    /// </summary>
    public const double HalfPrecisionLogSumExp = 1e-2;

    /// <summary>
    /// A float16 or bfloat16 output of a CPU backend, element by element against the exact answer for the same half
    /// inputs, in units in the last place of the output type at the exact value: everything up to the output is
    /// float32 (within <see cref="ForwardRelative"/>, far below half an ulp of either type: 2⁻¹¹ and 2⁻⁸ relative),
    /// and the output is rounded once to nearest (half an ulp). One ulp covers both, including a result that rounds
    /// across a power of two; the tests add <see cref="ForwardRelative"/> times the output's RMS for elements near zero,
    /// where the float32 error is relative to the row, not to the element.
    /// </summary>
    public const double HalfOutputUlps = 1.0;
}
