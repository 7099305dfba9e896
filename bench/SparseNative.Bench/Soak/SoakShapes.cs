namespace SparseNative.Bench.Soak;

/// <summary>
/// The problems the soak draws: small (at most B 2, 8 query heads, 200 keys, d 64) so 100,000 calls take minutes on two
/// cores, with tails (lengths not a multiple of the block), one-token rows, GQA and cross attention.
/// </summary>
internal static class SoakShapes
{
    private static readonly (int Query, int KeyValue)[] Heads = [(1, 1), (2, 2), (4, 4), (4, 2), (4, 1), (8, 2)];
    private static readonly int[] HeadDims = [8, 16, 24, 32, 40, 64];

    /// <summary>Self attention (three in four) or cross attention with at least as many keys as queries.</summary>
    public static AttentionShape Draw(Random rng)
    {
        var (hq, hkv) = Heads[rng.Next(Heads.Length)];
        int batch = rng.Next(1, 3), d = HeadDims[rng.Next(HeadDims.Length)];
        if (rng.Next(4) > 0)
        {
            int length = rng.Next(1, 129);
            return new AttentionShape(batch, hq, hkv, length, length, d);
        }
        int lq = rng.Next(1, 97);
        return new AttentionShape(batch, hq, hkv, lq, lq + rng.Next(0, 101), d);
    }

    /// <summary>A decoding step: 1–16 queries against 64–200 keys (what <see cref="SparseAttention.ForwardSplitKeys"/> is for).</summary>
    public static AttentionShape DrawDecode(Random rng)
    {
        var (hq, hkv) = Heads[rng.Next(Heads.Length)];
        return new AttentionShape(rng.Next(1, 3), hq, hkv, rng.Next(1, 17), rng.Next(64, 201), HeadDims[rng.Next(HeadDims.Length)]);
    }

    public static int DrawBlockSize(Random rng) => rng.Next(2) == 0 ? 16 : 32;

    public static TensorFormat DrawFormat(Random rng) => rng.Next(2) == 0 ? TensorFormat.Bhsd : TensorFormat.Bshd;

    /// <summary>MaxThreads 1 or 0 (all cores).</summary>
    public static int DrawMaxThreads(Random rng) => rng.Next(2) == 0 ? 1 : 0;
}
