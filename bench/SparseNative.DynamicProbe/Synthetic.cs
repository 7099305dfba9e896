namespace SparseNative.DynamicProbe;

/// <summary>
/// Inputs with structure, so that attention mass concentrates as in trained models: every block of 64 tokens has a topic
/// (a unit vector out of <c>topics</c>), kept from the previous block with probability ½ (local coherence); a token is
/// <c>strength · topic + N(0, 1)</c> noise per feature. Queries attend mostly to keys of their own topic. Key block 0 also
/// carries a shared "sink" direction that every query has a little of. A value is <c>4 · (its topic's value direction) +
/// N(0, ½²)</c>, so that tokens of one topic carry related content and the dense output is signal, not averaged-out noise.
/// </summary>
internal static class Synthetic
{
    public static float[] Uniform(long count, ulong seed)
    {
        var rng = new SplitMix64(seed);
        var x = new float[count];
        for (long i = 0; i < count; i++) x[i] = (float)((rng.Next() >> 40) * (1.0 / (1UL << 24)) * 2 - 1);
        return x;
    }

    public static (float[] Q, float[] K, float[] V) Topics(AttentionShape s, int topics, float strength, ulong seed)
    {
        var rng = new SplitMix64(seed);
        int d = s.HeadDim;
        double Gauss() // Box–Muller from two uniforms in (0, 1]
        {
            double u1 = ((rng.Next() >> 11) + 1) * (1.0 / (1UL << 53)), u2 = (rng.Next() >> 11) * (1.0 / (1UL << 53));
            return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
        }
        var q = new float[s.QueryElements];
        var k = new float[s.KeyElements];
        var v = new float[s.KeyElements];
        for (int h = 0; h < s.KeyValueHeads; h++)
        {
            var dirs = UnitVectors(topics + 1); // the last one is the sink direction
            var values = UnitVectors(topics + 1);
            // One topic sequence per K/V head, shared by its query heads (queries and keys of a position talk about the same thing).
            int blocks = (Math.Max(s.QueryLength, s.KeyLength) + 63) / 64;
            var topic = new int[blocks];
            for (int blk = 0; blk < blocks; blk++) topic[blk] = blk > 0 && rng.NextInt(2) == 0 ? topic[blk - 1] : rng.NextInt(topics);
            for (int t = 0; t < s.KeyLength; t++)
            {
                bool sink = t < 64;
                int kt = sink ? topics : topic[t / 64];
                for (int c = 0; c < d; c++)
                {
                    k[((long)h * s.KeyLength + t) * d + c] = (float)(strength * dirs[kt, c] + Gauss());
                    v[((long)h * s.KeyLength + t) * d + c] = (float)(4 * values[kt, c] + 0.5 * Gauss());
                }
            }
            for (int g = 0; g < s.GroupSize; g++)
            {
                int qh = h * s.GroupSize + g;
                for (int t = 0; t < s.QueryLength; t++)
                {
                    int pos = t + s.KeyLength - s.QueryLength; // bottom-right aligned position in the key sequence
                    for (int c = 0; c < d; c++)
                        q[((long)qh * s.QueryLength + t) * d + c] = (float)(strength * (dirs[topic[pos / 64], c] + 0.3 * dirs[topics, c]) + Gauss());
                }
            }
        }
        return (q, k, v);

        double[,] UnitVectors(int count)
        {
            var dirs = new double[count, d];
            for (int t = 0; t < count; t++)
            {
                double n = 0;
                for (int c = 0; c < d; c++) { dirs[t, c] = Gauss(); n += dirs[t, c] * dirs[t, c]; }
                for (int c = 0; c < d; c++) dirs[t, c] /= Math.Sqrt(n);
            }
            return dirs;
        }
    }
}
