using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using static SparseNative.Kernels.Exp2Polynomial;

namespace SparseNative.Kernels.Isa;

/// <summary>
/// Cross-platform <c>Vector128</c> operations (SSE on x64, NEON on arm64; 4 floats). Sized for 16 registers so it is
/// safe on x64. <c>MultiplyAddEstimate</c> fuses where the CPU has FMA and multiplies then adds where it does not.
/// </summary>
internal readonly unsafe struct PortableIsa : ISimdIsa<Vector128<float>>
{
    public static int Width => Vector128<float>.Count;
    public static bool HasWideRegisterFile => false;

    public static string? UnavailableReason =>
        Vector128.IsHardwareAccelerated ? null : "128-bit vectors not accelerated here (Vector128.IsHardwareAccelerated is false)";

    public static Vector128<float> Zero { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => Vector128<float>.Zero; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Broadcast(float x) => Vector128.Create(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Load(float* p) => Vector128.Load(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float* p, Vector128<float> v) => v.Store(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MultiplyAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c) => Vector128.MultiplyAddEstimate(a, b, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Multiply(Vector128<float> a, Vector128<float> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Subtract(Vector128<float> a, Vector128<float> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Max(Vector128<float> a, Vector128<float> b) => Vector128.MaxNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Exp2(Vector128<float> x)
    {
        x = Vector128.MinNative(Vector128.MaxNative(x, Vector128.Create(Lowest)), Vector128.Create(Highest));
        var shifted = x + Vector128.Create(RoundingShift);
        var f = x - (shifted - Vector128.Create(RoundingShift));
        var p = Vector128.MultiplyAddEstimate(Vector128.Create(C6), f, Vector128.Create(C5));
        p = Vector128.MultiplyAddEstimate(p, f, Vector128.Create(C4));
        p = Vector128.MultiplyAddEstimate(p, f, Vector128.Create(C3));
        p = Vector128.MultiplyAddEstimate(p, f, Vector128.Create(C2));
        p = Vector128.MultiplyAddEstimate(p, f, Vector128.Create(C1));
        p = Vector128.MultiplyAddEstimate(p, f, Vector128<float>.One);
        // The low mantissa bits of `shifted` hold n (mod 2^9); n + 127 shifted into the exponent field is 2^n.
        var pow2n = Vector128.ShiftLeft(shifted.AsInt32() + Vector128.Create(127), 23).AsSingle();
        return p * pow2n;
    }
}
