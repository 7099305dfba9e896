namespace SparseNative;

/// <summary>
/// SplitMix64 (Steele, Lea and Flood, 2014): a 64-bit state advanced by the golden-ratio constant and mixed by two
/// xor-shift-multiply rounds. Specified here so that a selection seeded today gives the same layout on every runtime and
/// in every language: <see cref="System.Random"/> makes no such promise.
/// </summary>
public struct SplitMix64
{
    private ulong _state;

    /// <summary>A generator whose first output depends only on <paramref name="seed"/>.</summary>
    public SplitMix64(ulong seed) => _state = seed;

    /// <summary>The next 64 random bits: <c>state += 0x9E3779B97F4A7C15</c>, then mix.</summary>
    public ulong Next()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A value in <c>[0, bound)</c> by multiply-shift of the top 32 bits (bias below 2⁻³² · bound, irrelevant here).</summary>
    public int NextInt(int bound)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bound);
        return (int)(((Next() >> 32) * (ulong)bound) >> 32);
    }
}
