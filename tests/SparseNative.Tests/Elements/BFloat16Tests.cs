using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SparseNative.Elements;
using Xunit;

namespace SparseNative.Tests.Elements;

/// <summary>The bfloat16 type: exact widening, round-to-nearest-even narrowing at its edges, NaN and ∞ kept.</summary>
public class BFloat16Tests
{
    private static ushort Round(uint floatBits) => ((BFloat16)BitConverter.UInt32BitsToSingle(floatBits)).ToBits();

    [Fact]
    public void IsTwoBlittableBytes()
    {
        Assert.Equal(2, Unsafe.SizeOf<BFloat16>());
        ushort[] raw = [0x3F80, 0xC000];
        var view = MemoryMarshal.Cast<ushort, BFloat16>(raw);
        Assert.Equal(1f, (float)view[0]);
        Assert.Equal(-2f, (float)view[1]);
    }

    [Theory]
    [InlineData(0x3F800000u, (ushort)0x3F80)] // 1 exactly
    [InlineData(0x3F807FFFu, (ushort)0x3F80)] // just below the half-way point: down
    [InlineData(0x3F808000u, (ushort)0x3F80)] // tie, even below: stays even
    [InlineData(0x3F808001u, (ushort)0x3F81)] // just above the tie: up
    [InlineData(0x3F818000u, (ushort)0x3F82)] // tie, odd below: up to even
    [InlineData(0xBF818000u, (ushort)0xBF82)] // negative tie: to even, sign kept
    [InlineData(0xBF808000u, (ushort)0xBF80)]
    [InlineData(0x3FFF8000u, (ushort)0x4000)] // tie that carries into the exponent
    public void NormalsRoundToNearestEven(uint floatBits, ushort expected) => Assert.Equal(expected, Round(floatBits));

    [Theory]
    [InlineData(0x00010000u, (ushort)0x0001)] // the smallest subnormal, exact
    [InlineData(0x00008000u, (ushort)0x0000)] // half of it: tie to even (zero)
    [InlineData(0x00008001u, (ushort)0x0001)]
    [InlineData(0x00018000u, (ushort)0x0002)] // tie between 1 and 2 subnormal ulps: even
    [InlineData(0x007F8000u, (ushort)0x0080)] // largest subnormal + tie: up into the smallest normal
    [InlineData(0x80008000u, (ushort)0x8000)] // negative tie to −0
    public void SubnormalsRoundToNearestEven(uint floatBits, ushort expected) => Assert.Equal(expected, Round(floatBits));

    [Theory]
    [InlineData(0x7F7F0000u, (ushort)0x7F7F)] // MaxValue exactly
    [InlineData(0x7F7F7FFFu, (ushort)0x7F7F)] // below the tie above MaxValue
    [InlineData(0x7F7F8000u, (ushort)0x7F80)] // the tie above MaxValue (odd): ∞
    [InlineData(0x7F7FFFFFu, (ushort)0x7F80)] // float.MaxValue: ∞
    [InlineData(0xFF7FFFFFu, (ushort)0xFF80)] // −float.MaxValue: −∞
    [InlineData(0x7F800000u, (ushort)0x7F80)]
    [InlineData(0xFF800000u, (ushort)0xFF80)]
    public void MaxAndInfinity(uint floatBits, ushort expected) => Assert.Equal(expected, Round(floatBits));

    [Theory]
    [InlineData(0x7FC00000u)] // quiet NaN
    [InlineData(0x7F800001u)] // signalling NaN whose payload lies only in the dropped bits: a naive round gives ∞
    [InlineData(0xFF800001u)]
    [InlineData(0x7FFFFFFFu)] // a NaN whose round would carry out of the exponent
    public void NaNStaysNaNWithItsSign(uint floatBits)
    {
        var b = (BFloat16)BitConverter.UInt32BitsToSingle(floatBits);
        Assert.True(BFloat16.IsNaN(b));
        Assert.True(float.IsNaN(b));
        Assert.Equal(floatBits >> 31, (uint)b.ToBits() >> 15);
    }

    [Fact]
    public void EveryPatternWidensExactlyAndRoundTrips()
    {
        for (int bits = 0; bits <= ushort.MaxValue; bits++)
        {
            var b = BFloat16.FromBits((ushort)bits);
            float f = b;
            Assert.Equal((uint)bits << 16, BitConverter.SingleToUInt32Bits(f));
            if (BFloat16.IsNaN(b)) Assert.True(BFloat16.IsNaN((BFloat16)f));
            else Assert.Equal((ushort)bits, ((BFloat16)f).ToBits());
            Assert.Equal(float.IsFinite(f), BFloat16.IsFinite(b));
            Assert.Equal((double)f, (double)b);
        }
    }

    [Fact]
    public void RandomFloatsGoToTheNearestWithTiesToEven()
    {
        var rng = new Random(12);
        for (int n = 0; n < 200_000; n++)
        {
            uint bits = (uint)rng.NextInt64(0, 1L << 32);
            float f = BitConverter.UInt32BitsToSingle(bits);
            if (!float.IsFinite(f)) continue;
            ushort r = Round(bits);
            // The two bfloat16 values around f (by truncation and one step away from zero), compared in double; past
            // MaxValue the step lands on ∞, which IEEE rounding treats as the next power of two, 2^128.
            ushort lo = (ushort)(bits >> 16), hi = (ushort)(lo + 1);
            double dl = Math.Abs((double)f - (double)BFloat16.FromBits(lo));
            double hv = (hi & 0x7FFF) == 0x7F80 ? Math.CopySign(Math.Pow(2, 128), f) : (double)BFloat16.FromBits(hi);
            double dh = Math.Abs((double)f - hv);
            ushort expected = dl < dh ? lo : dh < dl ? hi : (lo & 1) == 0 ? lo : hi;
            Assert.True(expected == r, $"{f:R} (0x{bits:X8}) rounded to 0x{r:X4}, nearest-even is 0x{expected:X4}");
        }
    }

    [Fact]
    public void DoubleRoundsOnceNotTwice()
    {
        // 1 + 2^-8 is the tie between 1 and 1 + 2^-7; 2^-30 above it lies below float32's precision, so rounding through
        // float32 first would land on the tie and go to the even 1.0.
        double x = 1 + Math.Pow(2, -8) + Math.Pow(2, -30);
        Assert.Equal(1f, (float)(BFloat16)(float)x);
        Assert.Equal(1 + 1f / 128, (float)(BFloat16)x);
        Assert.Equal(1f, (float)(BFloat16)(1 + Math.Pow(2, -8))); // the exact tie: even
        Assert.Equal(-1 - 1f / 128, (float)(BFloat16)(-x));
        Assert.Equal(0x7F80, ((BFloat16)1e300).ToBits());
        Assert.Equal(0x0000, ((BFloat16)1e-300).ToBits());
        Assert.True(BFloat16.IsNaN((BFloat16)double.NaN));
        var rng = new Random(3);
        for (int n = 0; n < 50_000; n++)
        {
            double d = (rng.NextDouble() - 0.5) * Math.Pow(2, rng.Next(-140, 120));
            float f = (float)d;
            if ((double)f == d) Assert.Equal(((BFloat16)f).ToBits(), ((BFloat16)d).ToBits());
            double err = Math.Abs(d - (double)(BFloat16)d);
            double other = Math.Abs(d - (double)BFloat16.FromBits((ushort)(((BFloat16)d).ToBits() ^ 1)));
            Assert.True(err <= other, $"{d:R}: bfloat16 {(float)(BFloat16)d} is not the nearest");
        }
    }

    [Fact]
    public unsafe void KernelWideningMatchesTheScalarConversionForEveryPattern()
    {
        // Every 16-bit pattern, at an odd length so that the vector loops and their scalar tails both run.
        int n = ushort.MaxValue + 1 - 3;
        var raw = new ushort[n];
        for (int i = 0; i < n; i++) raw[i] = (ushort)(i + 3);
        var wide = new float[n];
        fixed (ushort* s = raw)
        fixed (float* d = wide)
        {
            BFloat16Element.Widen(s, d, n);
            for (int i = 0; i < n; i++) Assert.Equal((uint)raw[i] << 16, BitConverter.SingleToUInt32Bits(d[i]));
            HalfElement.Widen(s, d, n);
            for (int i = 0; i < n; i++)
            {
                float expected = (float)BitConverter.UInt16BitsToHalf(raw[i]);
                Assert.True(expected.Equals(d[i]), $"fp16 0x{raw[i]:X4}: {d[i]} != {expected}");
                if (!float.IsNaN(expected)) Assert.Equal(BitConverter.SingleToUInt32Bits(expected), BitConverter.SingleToUInt32Bits(d[i]));
            }
        }
    }
}
