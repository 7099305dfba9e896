namespace SparseNative.Layouts;

/// <summary>
/// The random-block rule of <see cref="BlockPatterns.BigBird"/> and <see cref="BlockPatterns.Variable"/>, fixed here so a
/// layout depends only on its arguments — never on the runtime version (System.Random's algorithm is unspecified).
/// </summary>
/// <remarks>
/// <para>Each (seed, list, row) has its own SplitMix64 stream, so rows can be built in any order. With
/// <c>M(z)</c> = SplitMix64's output function (<c>z ^= z ≫ 30; z *= 0xBF58476D1CE4E5B9; z ^= z ≫ 27; z *= 0x94D049BB133111EB; z ^= z ≫ 31</c>,
/// all mod 2⁶⁴), the stream starts at state <c>s = M(M(M(seed) ^ list) ^ row)</c> (seed read as uint32, then every value as uint64),
/// and each draw is <c>s += 0x9E3779B97F4A7C15; return M(s)</c>.</para>
/// <para>A uniform integer below <c>m</c> is <c>floor(draw · m / 2⁶⁴)</c>. The <c>k = min(count, n)</c> distinct picks from the
/// candidates <c>[0, n)</c> follow Floyd's algorithm: for <c>j = n − k, …, n − 1</c>, draw <c>t</c> below <c>j + 1</c>, pick
/// <c>t</c> unless already picked, else pick <c>j</c> — every k-subset equally likely, as with Python's <c>random.sample</c>.</para>
/// </remarks>
internal sealed class RandomBlockPicker(int seed)
{
    private const ulong Gamma = 0x9E3779B97F4A7C15UL;
    private readonly ulong _seedHash = Mix((uint)seed);
    private readonly HashSet<int> _picked = [];

    internal static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Adds min(<paramref name="count"/>, <paramref name="candidates"/>) distinct blocks of [0, candidates) to <paramref name="row"/>.</summary>
    public void AddPicks(int list, int row, int candidates, int count, List<int> into)
    {
        int k = Math.Min(count, candidates);
        if (k <= 0) return;
        ulong state = Mix(Mix(_seedHash ^ (ulong)list) ^ (ulong)row);
        _picked.Clear();
        for (int j = candidates - k; j < candidates; j++)
        {
            state += Gamma;
            int t = (int)(((UInt128)Mix(state) * (ulong)(j + 1)) >> 64);
            int pick = _picked.Contains(t) ? j : t;
            _picked.Add(pick);
            into.Add(pick);
        }
    }
}
