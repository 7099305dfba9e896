namespace SparseNative.Kernels.Isa;

/// <summary>
/// The vector operations one instruction set offers the fused kernel, as static members of a struct so that the JIT
/// compiles a separate, fully inlined copy of the generic kernel for each implementation (the pattern of
/// TensorPrimitives' operator structs). Implementations hold only these micro-operations; the loops, the register
/// blocking and the online-softmax bookkeeping are written once, in <see cref="MicroKernels{TIsa, TVec}"/> and
/// <see cref="FusedBlockKernel{TIsa, TVec}"/>.
/// </summary>
/// <typeparam name="TVec">The register type: <c>Vector512&lt;float&gt;</c>, <c>Vector256&lt;float&gt;</c> or <c>Vector128&lt;float&gt;</c>.</typeparam>
internal unsafe interface ISimdIsa<TVec> where TVec : unmanaged
{
    /// <summary>Floats per register.</summary>
    static abstract int Width { get; }

    /// <summary>
    /// Whether the ISA has 32 vector registers (AVX-512, NEON): the GEMM tiles then keep 4 × 4 accumulators;
    /// with 16 registers (AVX2, SSE) they keep 4 × 2 so nothing spills.
    /// </summary>
    static abstract bool HasWideRegisterFile { get; }

    /// <summary><c>null</c> when the JIT emits this ISA's instructions here, else why not.</summary>
    static abstract string? UnavailableReason { get; }

    static abstract TVec Zero { get; }
    static abstract TVec Broadcast(float x);
    static abstract TVec Load(float* p);
    static abstract void Store(float* p, TVec v);

    /// <summary><c>a · b + c</c>, fused where the ISA has FMA.</summary>
    static abstract TVec MultiplyAdd(TVec a, TVec b, TVec c);
    static abstract TVec Multiply(TVec a, TVec b);
    static abstract TVec Add(TVec a, TVec b);
    static abstract TVec Subtract(TVec a, TVec b);

    /// <summary>Lane-wise maximum of two non-NaN vectors (the hardware instruction; NaN handling is not needed here).</summary>
    static abstract TVec Max(TVec a, TVec b);

    /// <summary>
    /// 2^x lane-wise with relative error below <see cref="Exp2Polynomial.MaxRelativeError"/> for x in [−125, 127];
    /// x &lt; −126.5 (including −∞) gives exactly 0, never NaN; results in [−126.5, −125) lose precision (denormals).
    /// </summary>
    static abstract TVec Exp2(TVec x);
}
