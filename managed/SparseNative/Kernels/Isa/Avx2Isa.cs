using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SparseNative.Kernels.Isa;

/// <summary>256-bit AVX2 + FMA operations (8 floats, 16 registers).</summary>
internal readonly unsafe struct Avx2Isa : ISimdIsa<Vector256<float>>
{
    public static int Width => Vector256<float>.Count;
    public static int VectorRegisters => 16;

    public static string? UnavailableReason =>
        !Vector256.IsHardwareAccelerated ? "256-bit vectors not accelerated on this CPU (Vector256.IsHardwareAccelerated is false)"
        : !Avx2.IsSupported ? "AVX2 not supported on this CPU or disabled (Avx2.IsSupported is false)"
        : !Fma.IsSupported ? "FMA not supported on this CPU or disabled (Fma.IsSupported is false)"
        : null;

    public static Vector256<float> Zero { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => Vector256<float>.Zero; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Broadcast(float x) => Vector256.Create(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load(float* p) => Avx.LoadVector256(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float* p, Vector256<float> v) => Avx.Store(p, v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Fma.MultiplyAdd(a, b, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Multiply(Vector256<float> a, Vector256<float> b) => Avx.Multiply(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => Avx.Add(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Subtract(Vector256<float> a, Vector256<float> b) => Avx.Subtract(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Max(Vector256<float> a, Vector256<float> b) => Avx.Max(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Min(Vector256<float> a, Vector256<float> b) => Avx.Min(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> AddInt32(Vector256<float> a, int b) => Avx2.Add(a.AsInt32(), Vector256.Create(b)).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ShiftLeftInt32(Vector256<float> a, [ConstantExpected] byte count) => Avx2.ShiftLeftLogical(a.AsInt32(), count).AsSingle();
}
