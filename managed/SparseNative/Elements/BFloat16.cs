using System.Runtime.InteropServices;

namespace SparseNative;

/// <summary>
/// A bfloat16 value: the upper 16 bits of an IEEE float32 (1 sign bit, 8 exponent bits, 7 fraction bits), the element
/// type of many model weights and KV caches. .NET 10 has no such type; this one is deliberately minimal — storage,
/// exact widening to <see cref="float"/> and <see cref="double"/>, and round-to-nearest-even narrowing — and is shaped
/// after .NET 11's <c>System.Numerics.BFloat16</c> (a 2-byte blittable struct with the same bit layout and the same
/// explicit/implicit conversions), so that arrays of one can be reinterpreted as the other with
/// <c>MemoryMarshal.Cast</c> and code written against this type changes only its <c>using</c> when that type arrives.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = 2)]
public readonly struct BFloat16 : IEquatable<BFloat16>
{
    private readonly ushort _bits;

    private BFloat16(ushort bits) => _bits = bits;

    /// <summary>The value with these 16 bits.</summary>
    public static BFloat16 FromBits(ushort bits) => new(bits);

    /// <summary>The 16 bits of this value.</summary>
    public ushort ToBits() => _bits;

    /// <summary>The largest finite value, (2 − 2⁻⁷)·2¹²⁷ ≈ 3.39e38.</summary>
    public static BFloat16 MaxValue => new(0x7F7F);

    /// <summary>The smallest positive value (a subnormal), 2⁻¹³³.</summary>
    public static BFloat16 Epsilon => new(0x0001);

    /// <summary>+∞.</summary>
    public static BFloat16 PositiveInfinity => new(0x7F80);

    /// <summary>−∞.</summary>
    public static BFloat16 NegativeInfinity => new(0xFF80);

    /// <summary>A quiet NaN.</summary>
    public static BFloat16 NaN => new(0x7FC0);

    /// <summary>Whether the value is NaN.</summary>
    public static bool IsNaN(BFloat16 x) => (x._bits & 0x7FFF) > 0x7F80;

    /// <summary>Whether the value is neither NaN nor ±∞.</summary>
    public static bool IsFinite(BFloat16 x) => (x._bits & 0x7FFF) < 0x7F80;

    /// <summary>Exact: every bfloat16 is a float32 (a 16-bit left shift of the bits).</summary>
    public static implicit operator float(BFloat16 x) => BitConverter.UInt32BitsToSingle((uint)x._bits << 16);

    /// <summary>Exact, through <see cref="float"/>.</summary>
    public static explicit operator double(BFloat16 x) => (float)x;

    /// <summary>
    /// Rounds to the nearest bfloat16, ties to even (the IEEE default, as <c>(Half)f</c> does); values past the largest
    /// finite bfloat16 by half an ulp or more become ±∞; a NaN stays a NaN (made quiet, its sign kept).
    /// </summary>
    public static explicit operator BFloat16(float x)
    {
        uint bits = BitConverter.SingleToUInt32Bits(x);
        if ((bits & 0x7FFFFFFF) > 0x7F800000) return new((ushort)((bits >> 16) | 0x0040));
        // Adding 0x7FFF rounds up exactly when the dropped 16 bits exceed half; the kept LSB adds one more, so an
        // exact half rounds up only from an odd value: ties to even. A carry into the exponent is the right result
        // (including MaxValue + half an ulp → ∞).
        uint rounding = 0x7FFF + ((bits >> 16) & 1);
        return new((ushort)((bits + rounding) >> 16));
    }

    /// <summary>
    /// Rounds to the nearest bfloat16, ties to even, in one rounding (not through a float32 rounding, which could round
    /// twice): the double is first cut to float32 rounding to odd, which keeps enough bits for the second rounding to be exact.
    /// </summary>
    public static explicit operator BFloat16(double x)
    {
        if (double.IsNaN(x)) return (BFloat16)(float)x;
        float f = (float)x;
        // Toward zero first (f may have rounded away, up to ∞), then an inexact result gets its last bit set.
        if (Math.Abs((double)f) > Math.Abs(x)) f = f > 0 ? MathF.BitDecrement(f) : MathF.BitIncrement(f);
        if ((double)f != x) f = BitConverter.UInt32BitsToSingle(BitConverter.SingleToUInt32Bits(f) | 1);
        return (BFloat16)f;
    }

    /// <inheritdoc/>
    public bool Equals(BFloat16 other) => ((float)this).Equals((float)other);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is BFloat16 b && Equals(b);

    /// <inheritdoc/>
    public override int GetHashCode() => ((float)this).GetHashCode();

    /// <summary>The value as a float32 would print it.</summary>
    public override string ToString() => ((float)this).ToString();
}
