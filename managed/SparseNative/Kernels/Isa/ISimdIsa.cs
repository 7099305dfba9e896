using System.Diagnostics.CodeAnalysis;

namespace SparseNative.Kernels.Isa;

/// <summary>
/// The vector operations one instruction set offers the fused kernel, as static members of a struct so that the JIT
/// compiles a separate, fully inlined copy of the generic kernel for each implementation (the pattern of
/// TensorPrimitives' operator structs). Implementations hold only these micro-operations; the loops, the register
/// blocking, 2^x and the online-softmax bookkeeping are written once, in <see cref="MicroKernels{TIsa, TVec}"/>,
/// <see cref="Exp2Polynomial"/>, <see cref="OnlineSoftmax{TIsa, TVec}"/> and <see cref="FusedBlockKernel{TIsa, TVec}"/>.
/// </summary>
/// <typeparam name="TVec">The register type: <c>Vector512&lt;float&gt;</c>, <c>Vector256&lt;float&gt;</c> or <c>Vector128&lt;float&gt;</c>.</typeparam>
internal unsafe interface ISimdIsa<TVec> where TVec : unmanaged
{
    /// <summary>Floats per register.</summary>
    static abstract int Width { get; }

    /// <summary>
    /// How many vector registers the ISA has: 32 (AVX-512, NEON) or 16 (AVX2, SSE). It sizes the GEMM tiles
    /// (<see cref="MicroKernels{TIsa, TVec}.TileVectors"/>) so that the accumulators never spill.
    /// </summary>
    static abstract int VectorRegisters { get; }

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

    /// <summary>Lane-wise minimum of two non-NaN vectors (the hardware instruction).</summary>
    static abstract TVec Min(TVec a, TVec b);

    /// <summary>The lanes read as 32-bit integers, plus <paramref name="b"/> (wrapping), read back as floats.</summary>
    static abstract TVec AddInt32(TVec a, int b);

    /// <summary>The lanes read as 32-bit integers, shifted left by a constant <paramref name="count"/> bits.</summary>
    static abstract TVec ShiftLeftInt32(TVec a, [ConstantExpected] byte count);
}
