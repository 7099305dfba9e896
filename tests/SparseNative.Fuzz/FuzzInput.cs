using System.Buffers.Binary;

namespace SparseNative.Fuzz;

/// <summary>
/// Turns fuzzer bytes into the values a harness needs. Past the end every read returns 0, so any input is a valid program;
/// small ranges keep the tensors tiny and each execution fast, while <see cref="Int"/> still reaches the 32-bit limits.
/// </summary>
internal ref struct FuzzInput(ReadOnlySpan<byte> data)
{
    private ReadOnlySpan<byte> _data = data;

    public bool IsEmpty => _data.IsEmpty;

    public byte Byte()
    {
        if (_data.IsEmpty) return 0;
        byte b = _data[0];
        _data = _data[1..];
        return b;
    }

    public bool Bool() => (Byte() & 1) != 0;

    /// <summary>A value in [min, max] most of the time; one byte in 32 asks for an extreme (0, −1, int.MinValue, int.MaxValue, …).</summary>
    public int Small(int min, int max)
    {
        byte b = Byte();
        if (b >= 248) return Extremes[b - 248];
        return min + b % (max - min + 1);
    }

    private static readonly int[] Extremes = [0, -1, int.MinValue, int.MaxValue, int.MaxValue / 2 + 1, 1 << 16, 65537, -65536];

    public int Int()
    {
        Span<byte> b = stackalloc byte[4];
        for (int i = 0; i < 4; i++) b[i] = Byte();
        return BinaryPrimitives.ReadInt32LittleEndian(b);
    }

    /// <summary>A float that is usually ordinary (−4..4) and sometimes NaN, ±∞, huge or subnormal.</summary>
    public float Float()
    {
        byte b = Byte();
        return b switch
        {
            250 => float.NaN,
            251 => float.PositiveInfinity,
            252 => float.NegativeInfinity,
            253 => 3e38f,
            254 => -3e38f,
            255 => 1e-40f,
            _ => (b - 125) / 32f,
        };
    }

    public T Pick<T>(params T[] values) => values[Byte() % values.Length];

    public int[] Ints(int count, int min, int max)
    {
        var a = new int[Math.Max(0, count)];
        for (int i = 0; i < a.Length; i++) a[i] = Small(min, max);
        return a;
    }

    public float[] Floats(int count)
    {
        var a = new float[Math.Max(0, count)];
        for (int i = 0; i < a.Length; i++) a[i] = Float();
        return a;
    }

    /// <summary>A length near <paramref name="exact"/> (clamped to [0, 2²⁰]): usually exact, sometimes one off or zero.</summary>
    public int LengthNear(long exact)
    {
        long n = Byte() switch { < 240 => exact, < 245 => exact - 1, < 250 => exact + 1, _ => 0 };
        return (int)Math.Clamp(n, 0, 1 << 20);
    }

    /// <summary>An array dimension the harness allocates itself: [0, max], never an extreme.</summary>
    public int Dim(int max) => Byte() % (max + 1);

    public ReadOnlySpan<byte> Rest()
    {
        var r = _data;
        _data = default;
        return r;
    }
}
