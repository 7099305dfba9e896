using System.Runtime.CompilerServices;
using SparseNative.Kernels.Isa;

namespace SparseNative.Kernels;

/// <summary>
/// The vectorised 2^x, written once over the ISA's micro-operations: x is clamped to [−127, 127], split as
/// n + f with n = round(x) and |f| ≤ ½ (by adding and subtracting 1.5·2²³, which also leaves n in the low mantissa
/// bits), 2^f comes from a degree-6 polynomial and 2^n is built directly in the exponent field. n = −127 gives an
/// exponent field of 0, i.e. exactly 0 — which is how masked scores (−∞) and the softmax sentinel vanish.
/// </summary>
internal static class Exp2Polynomial
{
    /// <summary>1.5·2²³: adding it rounds a float of magnitude below 2²² to an integer, held in the low mantissa bits.</summary>
    public const float RoundingShift = 12582912f;
    public const float Lowest = -127f;
    public const float Highest = 127f;

    // Taylor coefficients (ln 2)^k / k! of 2^f; truncation error (ln 2 / 2)^7 / 7! · √2 ≈ 1.7e-7 at |f| = ½.
    public const float C1 = 0.693147180559945f;
    public const float C2 = 0.240226506959101f;
    public const float C3 = 0.0555041086648216f;
    public const float C4 = 0.00961812910762848f;
    public const float C5 = 0.00133335581464284f;
    public const float C6 = 0.000154035303933816f;

    /// <summary>The bound the accuracy test checks against Math.Exp: truncation plus float32 rounding (worst seen ≈ 2.1e-7).</summary>
    public const double MaxRelativeError = 3e-7;

    /// <summary>
    /// 2^x lane-wise with relative error below <see cref="MaxRelativeError"/> for x in [−125, 127]; x &lt; −126.5
    /// (including −∞) gives exactly 0, never NaN; results in [−126.5, −125) lose precision (denormals).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVec Exp2<TIsa, TVec>(TVec x) where TIsa : struct, ISimdIsa<TVec> where TVec : unmanaged
    {
        x = TIsa.Min(TIsa.Max(x, TIsa.Broadcast(Lowest)), TIsa.Broadcast(Highest));
        var shifted = TIsa.Add(x, TIsa.Broadcast(RoundingShift));
        var f = TIsa.Subtract(x, TIsa.Subtract(shifted, TIsa.Broadcast(RoundingShift)));
        var p = TIsa.MultiplyAdd(TIsa.Broadcast(C6), f, TIsa.Broadcast(C5));
        p = TIsa.MultiplyAdd(p, f, TIsa.Broadcast(C4));
        p = TIsa.MultiplyAdd(p, f, TIsa.Broadcast(C3));
        p = TIsa.MultiplyAdd(p, f, TIsa.Broadcast(C2));
        p = TIsa.MultiplyAdd(p, f, TIsa.Broadcast(C1));
        p = TIsa.MultiplyAdd(p, f, TIsa.Broadcast(1f));
        // The low mantissa bits of `shifted` hold n (mod 2^9); n + 127 shifted into the exponent field is 2^n.
        var pow2n = TIsa.ShiftLeftInt32(TIsa.AddInt32(shifted, 127), 23);
        return TIsa.Multiply(p, pow2n);
    }

    /// <summary>log2(e): the query block is scaled by scale·log2(e) once so the kernel can use 2^x.</summary>
    public const float Log2E = 1.44269504088896341f;
}
