using SparseNative;
using SparseNative.Distributed;

namespace SparseNative.Distributed.Worker;

/// <summary>
/// Every layout family, both shardings and every exchange against the single-process Forward on the same data: the
/// output's relative error ‖O_dist − O‖ / ‖O‖ over the whole tensor, and the log-sum-exp's largest absolute difference.
/// </summary>
internal static class Accuracy
{
    internal static int Run(Communicator comm, double bound)
    {
        int failures = 0;
        foreach (var problem in Problems())
        {
            var options = problem.Options;
            var o = new float[problem.Shape.QueryElements];
            var lse = new float[problem.Shape.LogSumExpElements];
            SparseAttention.Forward(problem.Query, problem.Key, problem.Value, o, problem.Shape, problem.Layout, options, lse);
            foreach (var kind in new[] { ShardingKind.Contiguous, ShardingKind.ZigZag })
            foreach (var mode in new[] { ExchangeMode.Auto, ExchangeMode.LayoutAware, ExchangeMode.Ring, ExchangeMode.HeadParallel })
            {
                if (mode == ExchangeMode.HeadParallel && (problem.Shape.QueryHeads % comm.Size != 0 || problem.Shape.KeyValueHeads % comm.Size != 0)) continue;
                var sharding = SequenceSharding.Create(kind, problem.Shape.QueryLength, problem.Layout.BlockSize, comm.Size);
                var (error, lseError, ran) = Compare(comm, problem, sharding, mode, options, o, lse);
                bool ok = error <= bound && lseError <= bound * 10;
                if (!ok) failures++;
                if (comm.Rank == 0)
                    Console.WriteLine($"CASE {problem.Name}/{kind}/{mode} ranks={comm.Size} ran={ran} error={error:E2} lse={lseError:E2} {(ok ? "ok" : "FAIL")}  [{problem}]");
            }
        }
        return failures == 0 ? 0 : 1;
    }

    private static (double Error, double LseError, ExchangeMode Ran) Compare(Communicator comm, Problem p, SequenceSharding sharding,
        ExchangeMode mode, AttentionOptions options, float[] o, float[] lse)
    {
        var s = p.Shape;
        int r = comm.Rank, local = sharding.LocalLength(r);
        var q = p.ShardOf(p.Query, s.QueryHeads, sharding, r);
        var k = p.ShardOf(p.Key, s.KeyValueHeads, sharding, r);
        var v = p.ShardOf(p.Value, s.KeyValueHeads, sharding, r);
        var od = new float[q.Length];
        var ld = new float[s.Batch * s.QueryHeads * local];
        var step = DistributedAttention.Forward(comm, sharding, q, k, v, od, s, p.Layout,
            new DistributedOptions { Mode = mode, Attention = options }, ld);
        // The merge order is fixed: a second run gives the very same bits, whatever the message timing.
        var again = new float[od.Length];
        var againLse = new float[ld.Length];
        DistributedAttention.Forward(comm, sharding, q, k, v, again, s, p.Layout, new DistributedOptions { Mode = mode, Attention = options }, againLse);
        bool repeatable = again.AsSpan().SequenceEqual(od) && againLse.AsSpan().SequenceEqual(ld);
        var expected = p.ShardOf(o, s.QueryHeads, sharding, r);
        double diff = 0, norm = 0;
        for (int i = 0; i < od.Length; i++) { double e = od[i] - expected[i]; diff += e * e; norm += (double)expected[i] * expected[i]; }
        // The log-sum-exp is [B, Hq, L] whatever the format: its shard is the rows of the rank's tokens.
        double lseError = 0;
        for (int bh = 0; bh < s.Batch * s.QueryHeads; bh++)
            for (int t = 0; t < local; t++)
            {
                float a = ld[bh * local + t], b = lse[bh * s.QueryLength + sharding.GlobalToken(r, t)];
                if (a != b) lseError = Math.Max(lseError, Math.Abs((double)a - b) / Math.Max(1, Math.Abs((double)b)));
            }
        // One number for all ranks: the sums of squares add up (exactly enough in doubles) through the max-reduce of their bits.
        var (_, max) = comm.MinMax([BitConverter.DoubleToInt64Bits(Math.Sqrt(diff / Math.Max(norm, 1e-300))), BitConverter.DoubleToInt64Bits(lseError),
            repeatable ? 0 : 1], "the accuracy result");
        // A run that does not repeat bit for bit fails the case (reported as an infinite error).
        return (max[2] != 0 ? double.PositiveInfinity : BitConverter.Int64BitsToDouble(max[0]), BitConverter.Int64BitsToDouble(max[1]), step.Mode);
    }

    /// <summary>Odd lengths that no rank count divides, GQA, both formats, every family the issue names.</summary>
    private static IEnumerable<Problem> Problems()
    {
        const int bs = 16;
        int n = 16 * 17 + 5; // 17 full blocks and a partial one
        var gqa = AttentionShape.SelfAttention(1, 4, n, 16) with { KeyValueHeads = 2 };
        var mha = new AttentionShape(2, 2, 2, n, n, 8);
        yield return new Problem("window", gqa, BlockPatterns.LocalWindow(n, bs, 2));
        yield return new Problem("causal-window", gqa, BlockPatterns.LocalWindow(n, bs, 3, causal: true));
        yield return new Problem("bigbird", gqa, BlockPatterns.BigBird(n, bs, numRandomBlocks: 2, heads: 4, seed: 5));
        yield return new Problem("longformer", mha, BlockPatterns.BSLongformer(n, bs, globalBlockIndices: [0, 9], globalBlockEndIndices: [1, 10]));
        yield return new Problem("dense", mha, BlockPatterns.Dense(n, bs));
        yield return new Problem("bigbird-4-heads", new AttentionShape(1, 4, 4, n, n, 8), BlockPatterns.BigBird(n, bs, heads: 4, seed: 9));
        yield return new Problem("causal", gqa, BlockPatterns.Causal(n, bs));
        yield return new Problem("causal-bshd", gqa, BlockPatterns.Causal(n, bs), TensorFormat.Bshd);
        yield return new Problem("window-option-causal-bshd", mha, BlockPatterns.LocalWindow(n, bs, 2), TensorFormat.Bshd, causalOption: true);
        int phi = 64 * 9 + 7; // Phi-3-small's 64-token blocks: 9 full and a partial one
        yield return new Problem("phi3", AttentionShape.SelfAttention(1, 4, phi, 8) with { KeyValueHeads = 2 }, BlockPatterns.Phi3Small(phi, numLayouts: 2));
    }
}
