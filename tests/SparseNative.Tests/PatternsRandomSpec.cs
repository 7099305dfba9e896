namespace SparseNative.Tests;

/// <summary>
/// The random-block rule as docs/PATTERNS.md writes it, re-implemented here from the text (SplitMix64 per (seed, list, row),
/// multiply-shift below m, Floyd's distinct sampling), so the tests check the builders against the documentation.
/// </summary>
internal static class PatternsRandomSpec
{
    private static ulong M(ulong z)
    {
        unchecked
        {
            z ^= z >> 30; z *= 0xBF58476D1CE4E5B9UL;
            z ^= z >> 27; z *= 0x94D049BB133111EBUL;
            z ^= z >> 31;
            return z;
        }
    }

    /// <summary>The set of random picks of one row: min(count, candidates) distinct blocks of [0, candidates).</summary>
    public static HashSet<int> Picks(int seed, int list, int row, int candidates, int count)
    {
        ulong s = M(M(M((uint)seed) ^ (ulong)list) ^ (ulong)row);
        var picked = new HashSet<int>();
        int k = Math.Min(count, candidates);
        for (int j = candidates - k; j < candidates; j++)
        {
            s = unchecked(s + 0x9E3779B97F4A7C15UL);
            ulong draw = M(s);
            int t = (int)Math.BigMul(draw, (ulong)(j + 1), out _);   // high 64 bits of draw · (j + 1): floor(draw · m / 2⁶⁴)
            picked.Add(picked.Contains(t) ? j : t);
        }
        return picked;
    }
}
