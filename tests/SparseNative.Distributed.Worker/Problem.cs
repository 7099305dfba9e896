using SparseNative;
using SparseNative.Distributed;

namespace SparseNative.Distributed.Worker;

/// <summary>A global problem every rank builds the same way from a seed, and a rank's shard of it.</summary>
internal sealed class Problem(string name, AttentionShape shape, BlockLayout layout, TensorFormat format = TensorFormat.Bhsd, bool causalOption = false)
{
    public string Name { get; } = name;
    public AttentionShape Shape { get; } = shape;
    public BlockLayout Layout { get; } = layout;
    public TensorFormat Format { get; } = format;
    public AttentionOptions Options { get; } = new() { Format = format, Causal = causalOption, MaxThreads = 1 };
    public float[] Query { get; } = Random(shape.QueryElements, 1);
    public float[] Key { get; } = Random(shape.KeyElements, 2);
    public float[] Value { get; } = Random(shape.KeyElements, 3);

    private static float[] Random(long count, int seed)
    {
        var random = new Random(seed * 7919 + (int)count);
        var x = new float[count];
        for (long i = 0; i < count; i++) x[i] = (float)(random.NextDouble() * 2 - 1);
        return x;
    }

    /// <summary>The tokens of <paramref name="rank"/>'s blocks, in order (what that rank holds).</summary>
    public float[] ShardOf(float[] global, int heads, SequenceSharding sharding, int rank)
    {
        var runs = new TokenRuns(Shape.Batch, heads, Shape.HeadDim, Format);
        int local = sharding.LocalLength(rank), to = 0;
        var shard = new float[runs.Elements(local)];
        foreach (int b in sharding.BlocksOf(rank))
        {
            int n = sharding.BlockLength(b);
            runs.Copy(global, Shape.QueryLength, b * sharding.BlockSize, shard, local, to, n);
            to += n;
        }
        return shard;
    }

    public override string ToString() => $"{Name} L={Shape.QueryLength} Hq={Shape.QueryHeads} Hkv={Shape.KeyValueHeads} d={Shape.HeadDim} bs={Layout.BlockSize} {Format}{(Options.Causal ? " causal option" : "")}";
}
