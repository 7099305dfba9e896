using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static SparseNative.Kernels.Exp2Polynomial;

namespace SparseNative.Kernels.Isa;

/// <summary>512-bit AVX-512F operations (16 floats, 32 registers).</summary>
internal readonly unsafe struct Avx512Isa : ISimdIsa<Vector512<float>>
{
    public static int Width => Vector512<float>.Count;
    public static bool HasWideRegisterFile => true;

    // Vector512.IsHardwareAccelerated, not Avx512F.IsSupported alone: with DOTNET_PreferredVectorBitWidth=256 the
    // instructions exist but the runtime prefers 256-bit code, and so do we.
    public static string? UnavailableReason =>
        !Avx512F.IsSupported ? "AVX-512F not supported on this CPU or disabled (Avx512F.IsSupported is false)"
        : !Vector512.IsHardwareAccelerated ? "AVX-512 not accelerated on this CPU (Vector512.IsHardwareAccelerated is false)"
        : null;

    public static Vector512<float> Zero { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => Vector512<float>.Zero; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Broadcast(float x) => Vector512.Create(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(float* p) => Avx512F.LoadVector512(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float* p, Vector512<float> v) => Avx512F.Store(p, v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MultiplyAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Avx512F.FusedMultiplyAdd(a, b, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Multiply(Vector512<float> a, Vector512<float> b) => Avx512F.Multiply(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => Avx512F.Add(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Subtract(Vector512<float> a, Vector512<float> b) => Avx512F.Subtract(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Avx512F.Max(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp2(Vector512<float> x)
    {
        x = Avx512F.Min(Avx512F.Max(x, Vector512.Create(Lowest)), Vector512.Create(Highest));
        var shifted = Avx512F.Add(x, Vector512.Create(RoundingShift));
        var f = Avx512F.Subtract(x, Avx512F.Subtract(shifted, Vector512.Create(RoundingShift)));
        var p = Avx512F.FusedMultiplyAdd(Vector512.Create(C6), f, Vector512.Create(C5));
        p = Avx512F.FusedMultiplyAdd(p, f, Vector512.Create(C4));
        p = Avx512F.FusedMultiplyAdd(p, f, Vector512.Create(C3));
        p = Avx512F.FusedMultiplyAdd(p, f, Vector512.Create(C2));
        p = Avx512F.FusedMultiplyAdd(p, f, Vector512.Create(C1));
        p = Avx512F.FusedMultiplyAdd(p, f, Vector512<float>.One);
        // The low mantissa bits of `shifted` hold n (mod 2^9); n + 127 shifted into the exponent field is 2^n.
        var pow2n = Avx512F.ShiftLeftLogical(Avx512F.Add(shifted.AsInt32(), Vector512.Create(127)), 23).AsSingle();
        return Avx512F.Multiply(p, pow2n);
    }
}
