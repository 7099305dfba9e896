using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SparseNative.Kernels.Isa;

/// <summary>512-bit AVX-512F operations (16 floats, 32 registers).</summary>
internal readonly unsafe struct Avx512Isa : ISimdIsa<Vector512<float>>
{
    public static int Width => Vector512<float>.Count;
    public static int VectorRegisters => 32;

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
    public static Vector512<float> Min(Vector512<float> a, Vector512<float> b) => Avx512F.Min(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> AddInt32(Vector512<float> a, int b) => Avx512F.Add(a.AsInt32(), Vector512.Create(b)).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ShiftLeftInt32(Vector512<float> a, [ConstantExpected] byte count) => Avx512F.ShiftLeftLogical(a.AsInt32(), count).AsSingle();
}
