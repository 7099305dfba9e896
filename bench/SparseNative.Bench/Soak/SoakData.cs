using SparseNative.Bench.Common;

namespace SparseNative.Bench.Soak;

/// <summary>
/// The inputs every call reads: pools of random values (uniform in [−1, 1), never zeros) from which each call takes its
/// Q, K, V and dO at drawn offsets, so no call allocates its inputs and the soak measures the library, not itself.
/// </summary>
internal sealed class SoakData
{
    /// <summary>Elements of the largest tensor a call uses (see <see cref="SoakShapes"/>): B 2 × H 8 × 200 tokens × d 64.</summary>
    public const int MaxElements = 2 * 8 * 200 * 64;

    private const int PoolElements = 4 * MaxElements;

    public float[] Query { get; }
    public float[] Key { get; }
    public float[] Value { get; }
    public float[] Gradient { get; }

    /// <summary>Log-sum-exp values for <see cref="SparseAttention.MergeStates"/>: in [−3, 3), one in 64 −∞ (a row with no key).</summary>
    public float[] LogSumExp { get; }

    public SoakData(int seed)
    {
        Query = BenchData.Random(PoolElements, seed);
        Key = BenchData.Random(PoolElements, seed + 1);
        Value = BenchData.Random(PoolElements, seed + 2);
        Gradient = BenchData.Random(PoolElements, seed + 3);
        LogSumExp = BenchData.Random(PoolElements, seed + 4);
        for (int i = 0; i < LogSumExp.Length; i++) LogSumExp[i] = i % 64 == 5 ? float.NegativeInfinity : 3 * LogSumExp[i];
    }

    /// <summary><paramref name="length"/> elements of <paramref name="pool"/> from a drawn offset.</summary>
    public static ReadOnlyMemory<float> Take(float[] pool, long length, Random rng) =>
        pool.AsMemory(rng.Next(pool.Length - (int)length + 1), (int)length);
}

/// <summary>One caller thread's output buffers, each large enough for any call, allocated once.</summary>
internal sealed class SoakBuffers
{
    public float[] Output { get; } = Filled();
    public float[] LogSumExp { get; } = Filled();
    public float[] Output2 { get; } = Filled();
    public float[] LogSumExp2 { get; } = Filled();
    public float[] QueryGradient { get; } = Filled();
    public float[] KeyGradient { get; } = Filled();
    public float[] ValueGradient { get; } = Filled();
    public float[] ReferenceOutput { get; } = Filled();
    public float[] ReferenceLogSumExp { get; } = Filled();
    public SoakResult Result { get; } = new();

    private static float[] Filled()
    {
        var a = new float[SoakData.MaxElements];
        Array.Fill(a, 1f); // touch every page before the first snapshot
        return a;
    }
}
