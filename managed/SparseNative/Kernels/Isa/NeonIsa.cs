using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using static SparseNative.Kernels.Exp2Polynomial;

namespace SparseNative.Kernels.Isa;

/// <summary>128-bit Arm AdvSimd (NEON) operations on arm64 (4 floats, 32 registers).</summary>
internal readonly unsafe struct NeonIsa : ISimdIsa<Vector128<float>>
{
    public static int Width => Vector128<float>.Count;
    public static bool HasWideRegisterFile => true;

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
    public static Vector128<float> Exp2(Vector128<float> x)
    {
        x = AdvSimd.Min(AdvSimd.Max(x, Vector128.Create(Lowest)), Vector128.Create(Highest));
        var shifted = AdvSimd.Add(x, Vector128.Create(RoundingShift));
        var f = AdvSimd.Subtract(x, AdvSimd.Subtract(shifted, Vector128.Create(RoundingShift)));
        var p = AdvSimd.FusedMultiplyAdd(Vector128.Create(C5), Vector128.Create(C6), f);
        p = AdvSimd.FusedMultiplyAdd(Vector128.Create(C4), p, f);
        p = AdvSimd.FusedMultiplyAdd(Vector128.Create(C3), p, f);
        p = AdvSimd.FusedMultiplyAdd(Vector128.Create(C2), p, f);
        p = AdvSimd.FusedMultiplyAdd(Vector128.Create(C1), p, f);
        p = AdvSimd.FusedMultiplyAdd(Vector128<float>.One, p, f);
        // The low mantissa bits of `shifted` hold n (mod 2^9); n + 127 shifted into the exponent field is 2^n.
        var pow2n = Vector128.ShiftLeft(AdvSimd.Add(shifted.AsInt32(), Vector128.Create(127)), 23).AsSingle();
        return AdvSimd.Multiply(p, pow2n);
    }
}
