using System.Diagnostics;
using SparseNative.Bench.Common;
using SparseNative.Distributed;

namespace SparseNative.Bench.Distributed;

/// <summary>
/// `distributed` (run under mpirun, one process per rank): for each layout family, the layout-aware exchange and the
/// ring on the same sharded problem — bytes each rank sent and received, the busiest rank's time per step, and the time
/// per (query block, key block) pair per query head that bench/distributed/project.py takes as --block-us. The byte
/// counts are checked against the formulas of docs/DISTRIBUTED.md: the ring receives every other shard
/// (2·B·Hkv·d·4 bytes per token of N − n_r), a contiguous sliding window of half-width w receives w blocks from each
/// neighbour (w on the first and last rank; w and 0 for the causal window).
/// </summary>
internal static class DistributedBench
{
    internal const string Usage = """
        usage: mpirun -n 4 dotnet SparseNative.Bench.dll distributed [--tokens 1048576] [--heads 8] [--kv-heads 8]
                      [--dim 64] [--block 64] [--window 3] [--iterations 3] [--families window,causal-window,bigbird,longformer,causal]
        """;

    internal static int Run(string[] args)
    {
        int tokens = 1 << 20, heads = 8, kvHeads = 8, dim = 64, block = 64, window = 3, iterations = 3;
        string[] families = ["window", "causal-window", "bigbird", "longformer", "causal"];
        var reader = new OptionReader(args);
        while (reader.MoveNext())
            switch (reader.Current)
            {
                case "--tokens": tokens = reader.Int(16); break;
                case "--heads": heads = reader.Int(1); break;
                case "--kv-heads": kvHeads = reader.Int(1); break;
                case "--dim": dim = reader.Int(8); break;
                case "--block": block = reader.Int(16); break;
                case "--window": window = reader.Int(0); break;
                case "--iterations": iterations = reader.Int(1); break;
                case "--families": families = reader.Value().Split(','); break;
                default: throw new ArgumentException($"Unknown option {reader.Current}.\n{Usage}", nameof(args));
            }
        using var comm = Communicator.World();
        var shape = new AttentionShape(1, heads, kvHeads, tokens, tokens, dim);
        var random = new Random(comm.Rank + 1);
        int failures = 0;
        if (comm.Rank == 0)
            Console.WriteLine($"| family | exchange | sharding | MiB sent (max rank) | MiB received (max rank) | formula | s/step (max rank) | µs per block pair·head |\n|---|---|---|---|---|---|---|---|");
        foreach (string family in families)
        {
            var (layout, kind) = Layout(family, tokens, block, window, heads);
            var sharding = SequenceSharding.Create(kind, tokens, block, comm.Size);
            int local = sharding.LocalLength(comm.Rank);
            var q = Fill(random, (long)heads * local * dim);
            var k = Fill(random, (long)kvHeads * local * dim);
            var v = Fill(random, (long)kvHeads * local * dim);
            var o = new float[q.Length];
            foreach (var mode in new[] { ExchangeMode.LayoutAware, ExchangeMode.Ring })
            {
                var options = new DistributedOptions { Mode = mode };
                DistributedStep step = DistributedAttention.Forward(comm, sharding, q, k, v, o, shape, layout, options); // warm-up
                double best = double.MaxValue;
                for (int i = 0; i < iterations; i++)
                {
                    var clock = Stopwatch.StartNew();
                    step = DistributedAttention.Forward(comm, sharding, q, k, v, o, shape, layout, options);
                    best = Math.Min(best, clock.Elapsed.TotalSeconds);
                }
                long expected = ExpectedReceived(family, mode, sharding, comm.Rank, shape, window);
                bool formulaOk = expected < 0 || expected == step.BytesReceived;
                if (!formulaOk) failures++;
                long pairs = Pairs(layout, sharding, comm.Rank, heads, layout.IsCausal);
                var (_, max) = comm.MinMax([step.BytesSent, step.BytesReceived, (long)(best * 1e9),
                    (long)((step.Elapsed - step.Waiting).TotalSeconds * 1e12 / Math.Max(1, pairs)), formulaOk ? 0 : 1], "the bench figures");
                if (comm.Rank == 0)
                    Console.WriteLine($"| {family} | {mode} | {kind} | {max[0] / 1048576.0:F2} | {max[1] / 1048576.0:F2} | " +
                        $"{(expected < 0 ? "n/a" : max[4] == 0 ? "matches" : "MISMATCH")} | {max[2] / 1e9:F4} | {max[3] / 1e6:F2} |");
            }
        }
        return failures == 0 ? 0 : 1;
    }

    private static (BlockLayout, ShardingKind) Layout(string family, int n, int bs, int w, int heads) => family switch
    {
        "window" => (BlockPatterns.LocalWindow(n, bs, w), ShardingKind.Contiguous),
        "causal-window" => (BlockPatterns.LocalWindow(n, bs, w, causal: true), ShardingKind.Contiguous),
        "bigbird" => (BlockPatterns.BigBird(n, bs, numRandomBlocks: 3, numSlidingWindowBlocks: 2 * w + 1, heads: 1), ShardingKind.Contiguous),
        "longformer" => (BlockPatterns.BSLongformer(n, bs, numSlidingWindowBlocks: 2 * w + 1), ShardingKind.Contiguous),
        "causal" => (BlockPatterns.Causal(n, bs), ShardingKind.ZigZag),
        "dense" => (BlockPatterns.Dense(n, bs), ShardingKind.Contiguous),
        _ => throw new ArgumentException($"Unknown family {family} (window, causal-window, bigbird, longformer, causal, dense).", nameof(family)),
    };

    /// <summary>The closed-form bytes a rank receives, or −1 where the bench has no closed form (the plan's own count is printed).</summary>
    private static long ExpectedReceived(string family, ExchangeMode mode, SequenceSharding s, int rank, AttentionShape shape, int w)
    {
        long perToken = 2L * shape.Batch * shape.KeyValueHeads * shape.HeadDim * sizeof(float);
        if (mode == ExchangeMode.Ring) return perToken * (s.SequenceLength - s.LocalLength(rank));
        bool causal = family == "causal-window";
        if (family is not ("window" or "causal-window") || s.BlocksOf(rank).Length < w) return -1;
        long tokens = 0;
        var mine = s.BlocksOf(rank);
        for (int j = mine[0] - w; j < mine[0]; j++) if (j >= 0) tokens += s.BlockLength(j);
        if (!causal) for (int j = mine[^1] + 1; j <= mine[^1] + w; j++) if (j < s.Blocks) tokens += s.BlockLength(j);
        return perToken * tokens;
    }

    /// <summary>(query block, key block) pairs this rank computes, summed over query heads.</summary>
    private static long Pairs(BlockLayout layout, SequenceSharding s, int rank, int heads, bool causal)
    {
        long pairs = 0;
        for (int h = 0; h < heads; h++)
            foreach (int i in s.BlocksOf(rank))
                foreach (int j in layout.Row(layout.ListForHead(h), i))
                    if (!causal || j <= i) pairs++;
        return pairs;
    }

    private static float[] Fill(Random random, long count)
    {
        var x = new float[count];
        for (long i = 0; i < count; i++) x[i] = (float)(random.NextDouble() * 2 - 1);
        return x;
    }
}
