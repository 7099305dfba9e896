namespace SparseNative.Distributed;

public static unsafe partial class DistributedAttention
{
    private static void RunHeadParallel(Step step, Shard t) => throw new NotImplementedException();
}
