using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static SparseNative.Kernels.Exp2Polynomial;

namespace SparseNative.Kernels.Isa;

/// <summary>256-bit AVX2 + FMA operations (8 floats, 16 registers).</summary>
internal readonly unsafe struct Avx2Isa : ISimdIsa<Vector256<float>>
{
    public static int Width => Vector256<float>.Count;
    public static bool HasWideRegisterFile => false;

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
    public static Vector256<float> Exp2(Vector256<float> x)
    {
        x = Avx.Min(Avx.Max(x, Vector256.Create(Lowest)), Vector256.Create(Highest));
        var shifted = Avx.Add(x, Vector256.Create(RoundingShift));
        var f = Avx.Subtract(x, Avx.Subtract(shifted, Vector256.Create(RoundingShift)));
        var p = Fma.MultiplyAdd(Vector256.Create(C6), f, Vector256.Create(C5));
        p = Fma.MultiplyAdd(p, f, Vector256.Create(C4));
        p = Fma.MultiplyAdd(p, f, Vector256.Create(C3));
        p = Fma.MultiplyAdd(p, f, Vector256.Create(C2));
        p = Fma.MultiplyAdd(p, f, Vector256.Create(C1));
        p = Fma.MultiplyAdd(p, f, Vector256<float>.One);
        // The low mantissa bits of `shifted` hold n (mod 2^9); n + 127 shifted into the exponent field is 2^n.
        var pow2n = Avx2.ShiftLeftLogical(Avx2.Add(shifted.AsInt32(), Vector256.Create(127)), 23).AsSingle();
        return Avx.Multiply(p, pow2n);
    }
}
