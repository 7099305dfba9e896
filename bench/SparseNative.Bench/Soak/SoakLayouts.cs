using System.Collections.Concurrent;

namespace SparseNative.Bench.Soak;

/// <summary>
/// The layouts the soak draws — sliding window, BigBird, causal dense, random CSR — each a pure function of its key, so a
/// repeated call gets an equal layout. One in four is built fresh and dropped after its call; the others come from a
/// cache that is emptied whenever it passes <see cref="CacheLimit"/> entries, so layouts (and the transposes the backward
/// keeps on them) are created, reused and dropped all through the run.
/// </summary>
internal sealed class SoakLayouts
{
    private const int CacheLimit = 48;

    private readonly ConcurrentDictionary<Key, BlockLayout> _cache = new();

    private enum Kind { Window, BigBird, CausalDense, CsrRandom }

    private readonly record struct Key(Kind Kind, int QueryLength, int KeyLength, int BlockSize, int Heads, int Variant);

    public BlockLayout Draw(Random rng, AttentionShape s, int blockSize)
    {
        bool self = s.QueryLength == s.KeyLength;
        var kind = self ? (Kind)rng.Next(4) : rng.Next(2) == 0 ? Kind.CausalDense : Kind.CsrRandom;
        var key = new Key(kind, s.QueryLength, s.KeyLength, blockSize, s.QueryHeads, rng.Next(8));
        if (rng.Next(4) == 0) return Build(key);
        if (_cache.Count > CacheLimit) _cache.Clear();
        return _cache.GetOrAdd(key, Build);
    }

    private static BlockLayout Build(Key k) => k.Kind switch
    {
        Kind.Window => BlockPatterns.LocalWindow(k.QueryLength, k.BlockSize, windowBlocks: 1 + k.Variant % 3, causal: k.Variant % 2 == 0),
        Kind.BigBird => BlockPatterns.BigBird(k.QueryLength, k.BlockSize, numRandomBlocks: k.Variant % 3, numSlidingWindowBlocks: 3,
            numGlobalBlocks: 1, unidirectional: k.Variant % 2 == 1, heads: k.Heads, seed: k.Variant),
        Kind.CausalDense => BlockPatterns.Causal(k.QueryLength, k.BlockSize, k.KeyLength),
        _ => RandomCsr(k),
    };

    /// <summary>One list or one per head; each block kept with a probability of 0.3–0.8, so some rows are empty.</summary>
    private static BlockLayout RandomCsr(Key k)
    {
        var rng = new Random((((k.QueryLength * 1009 + k.KeyLength) * 131 + k.BlockSize) * 31 + k.Heads) * 31 + k.Variant); // not HashCode: that is salted per process
        int qb = BlockLayout.BlocksFor(k.QueryLength, k.BlockSize), kb = BlockLayout.BlocksFor(k.KeyLength, k.BlockSize);
        int lists = k.Variant % 2 == 0 ? 1 : k.Heads;
        double keep = 0.3 + 0.5 * rng.NextDouble();
        var offsets = new int[lists * (qb + 1)];
        var columns = new List<int>();
        for (int l = 0; l < lists; l++)
        {
            int start = columns.Count;
            for (int r = 0; r < qb; r++)
            {
                for (int c = 0; c < kb; c++)
                    if (rng.NextDouble() < keep) columns.Add(c);
                offsets[l * (qb + 1) + r + 1] = columns.Count - start;
            }
        }
        return BlockLayout.FromCsr(k.BlockSize, qb, kb, offsets, columns.ToArray(), lists);
    }
}
