namespace SparseNative.Tests;

/// <summary>Seeded random inputs (never zeros) and error measures shared by the tests.</summary>
internal static class TestData
{
    /// <summary>Uniform values in [-1, 1) with no exact zeros, scaled; reproducible from the seed.</summary>
    public static float[] Random(long count, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        var x = new float[count];
        for (long i = 0; i < count; i++)
        {
            float r;
            do r = (float)(rng.NextDouble() * 2 - 1); while (r == 0f);
            x[i] = r * scale;
        }
        return x;
    }

    public static (float[] Q, float[] K, float[] V) Qkv(AttentionShape s, int seed, float scale = 1f) =>
        (Random(s.QueryElements, seed, scale), Random(s.KeyElements, seed + 1, scale), Random(s.KeyElements, seed + 2, scale));

    /// <summary>A random layout: each block active with probability <paramref name="density"/>; some rows may be empty.</summary>
    public static BlockLayout RandomLayout(int blockSize, int qb, int kb, int lists, double density, int seed)
    {
        var rng = new Random(seed);
        var mask = new bool[lists, qb, kb];
        for (int l = 0; l < lists; l++)
            for (int r = 0; r < qb; r++)
                for (int c = 0; c < kb; c++)
                    mask[l, r, c] = rng.NextDouble() < density;
        return BlockLayout.FromDense(mask, blockSize);
    }

    /// <summary>‖a − b‖_F / ‖b‖_F over all elements (b is the reference). Both must be finite.</summary>
    /// <summary>Tokens <c>start … start+len−1</c> of every head of a BHSD tensor with one batch row.</summary>
    public static float[] TokenSlice(float[] x, int heads, int length, int start, int len, int d)
    {
        var r = new float[heads * len * d];
        for (int h = 0; h < heads; h++) Array.Copy(x, (h * length + start) * d, r, h * len * d, len * d);
        return r;
    }

    public static double RelativeError(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected)
    {
        if (actual.Length != expected.Length) throw new ArgumentException("length mismatch");
        double num = 0, den = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double e = expected[i], a = actual[i];
            if (!double.IsFinite(a)) return double.PositiveInfinity;
            num += (a - e) * (a - e);
            den += e * e;
        }
        return den == 0 ? Math.Sqrt(num) : Math.Sqrt(num / den);
    }

    /// <summary>Largest |a − b| where both are finite; −∞ must match −∞ exactly (returns +∞ otherwise).</summary>
    public static double MaxLseError(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected)
    {
        double worst = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            if (float.IsNegativeInfinity(expected[i]) || float.IsNegativeInfinity(actual[i]))
            {
                if (actual[i] != expected[i]) return double.PositiveInfinity;
                continue;
            }
            if (!float.IsFinite(actual[i])) return double.PositiveInfinity;
            worst = Math.Max(worst, Math.Abs((double)actual[i] - expected[i]));
        }
        return worst;
    }
}
