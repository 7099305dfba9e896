using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace SparseNative.Kernels.Isa;

/// <summary>128-bit Arm AdvSimd (NEON) operations on arm64 (4 floats, 32 registers).</summary>
internal readonly unsafe struct NeonIsa : ISimdIsa<Vector128<float>>
{
    public static int Width => Vector128<float>.Count;
    public static int VectorRegisters => 32;

    public static string? UnavailableReason =>
        AdvSimd.Arm64.IsSupported ? null : "Arm64 AdvSimd (NEON) not available (not an arm64 process, or DOTNET_EnableHWIntrinsic=0)";

    public static Vector128<float> Zero { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => Vector128<float>.Zero; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Broadcast(float x) => Vector128.Create(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Load(float* p) => AdvSimd.LoadVector128(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float* p, Vector128<float> v) => AdvSimd.Store(p, v);

    // AdvSimd.FusedMultiplyAdd takes the addend first: addend + left · right.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MultiplyAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c) => AdvSimd.FusedMultiplyAdd(c, a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Multiply(Vector128<float> a, Vector128<float> b) => AdvSimd.Multiply(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => AdvSimd.Add(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Subtract(Vector128<float> a, Vector128<float> b) => AdvSimd.Subtract(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Max(Vector128<float> a, Vector128<float> b) => AdvSimd.Max(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Min(Vector128<float> a, Vector128<float> b) => AdvSimd.Min(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> AddInt32(Vector128<float> a, int b) => AdvSimd.Add(a.AsInt32(), Vector128.Create(b)).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> ShiftLeftInt32(Vector128<float> a, [ConstantExpected] byte count) => Vector128.ShiftLeft(a.AsInt32(), count).AsSingle();
}
