namespace SparseNative.Distributed;

public static unsafe partial class DistributedAttention
{
    private const int KeyTag = 0, ValueTag = 1;

    /// <summary>
    /// Layout-aware: every rank posts receives for exactly the remote blocks its query blocks reference and sends exactly
    /// the blocks the others need of it (both known from the layout), computes on its own blocks while they travel, then
    /// takes the sources in a fixed order (rank + 1, rank + 2, … mod ranks), computing on each source's blocks while the
    /// next ones arrive and merging each partial result into the output in that order: the result does not depend on
    /// which message came first.
    /// </summary>
    private static void RunLayoutAware(Step step, Shard t)
    {
        int me = step.Rank, ranks = step.Ranks;
        var runs = step.KeyRuns;
        var requests = new List<nint>();
        var sends = new List<nint>();
        var sources = new List<(int Rank, float[] Key, float[] Value)>();
        for (int k = 1; k < ranks; k++)
        {
            int s = (me + k) % ranks;
            var blocks = step.Plan.Needed(me, s);
            if (blocks.IsEmpty) continue;
            int count = runs.Elements(step.Tokens(blocks));
            var kb = step.Buffer(count);
            var vb = step.Buffer(count);
            sources.Add((s, kb, vb));
            step.BlocksReceived += blocks.Length;
            step.BytesReceived += 2L * count * sizeof(float);
        }
        // One list of receives per source, posted before any send so that no message waits for its buffer.
        var received = new List<nint>[sources.Count];
        for (int i = 0; i < sources.Count; i++)
        {
            var (s, kb, vb) = sources[i];
            fixed (float* kp = kb, vp = vb)
                received[i] = [step.Comm.Receive(kp, kb.Length, s, KeyTag), step.Comm.Receive(vp, vb.Length, s, ValueTag)];
        }
        int localLength = step.LocalLength;
        for (int k = 1; k < ranks; k++)
        {
            int p = (me + ranks - k) % ranks;
            var blocks = step.Plan.Needed(p, me);
            if (blocks.IsEmpty) continue;
            int count = runs.Elements(step.Tokens(blocks));
            var kb = step.Buffer(count);
            var vb = step.Buffer(count);
            Pack(step, runs, t.Key, localLength, blocks, kb);
            Pack(step, runs, t.Value, localLength, blocks, vb);
            fixed (float* kp = kb, vp = vb)
            {
                sends.Add(step.Comm.Send(kp, count, p, KeyTag));
                sends.Add(step.Comm.Send(vp, count, p, ValueTag));
            }
            step.BytesSent += 2L * count * sizeof(float);
        }

        // Own blocks first, straight into the output.
        var pending = step.Start(step.Sharding.BlocksOf(me), own: true, t.Query, t.Key, t.Value, t.Output, t.LogSumExp);
        if (pending is null) step.Empty(t.Output, t.LogSumExp);
        var partial = step.Buffer(step.OutputElements);
        var partialLse = step.Buffer(step.LseElements);
        bool partialReady = false;
        for (int i = 0; i < sources.Count; i++)
        {
            var (s, kb, vb) = sources[i];
            step.Wait(received[i], $"receiving key/value blocks from rank {s}", pending);
            if (partialReady) step.Merge(t.Output, t.LogSumExp, partial, partialLse);
            fixed (float* kp = kb, vp = vb, op = partial, lp = partialLse)
                pending = step.Start(step.Plan.Needed(me, s), own: false, t.Query, (nint)kp, (nint)vp, (nint)op, (nint)lp);
            partialReady = pending is not null;
        }
        step.Wait(sends, "sending key/value blocks", pending);
        if (partialReady) step.Merge(t.Output, t.LogSumExp, partial, partialLse);
    }

    /// <summary>
    /// Ring attention: at step n every rank holds the shard of rank (rank − n) mod ranks, passes it on to rank + 1 while it
    /// computes on it, and receives the next one from rank − 1; partial results merge in step order.
    /// </summary>
    private static void RunRing(Step step, Shard t)
    {
        int me = step.Rank, ranks = step.Ranks;
        var runs = step.KeyRuns;
        int most = 0;
        for (int r = 0; r < ranks; r++) most = Math.Max(most, runs.Elements(step.Sharding.LocalLength(r)));
        int own = runs.Elements(step.LocalLength);
        float[][] keys = [step.Buffer(most), step.Buffer(most)];
        float[][] values = [step.Buffer(most), step.Buffer(most)];
        new ReadOnlySpan<float>((void*)t.Key, own).CopyTo(keys[0]);
        new ReadOnlySpan<float>((void*)t.Value, own).CopyTo(values[0]);
        var partial = step.Buffer(step.OutputElements);
        var partialLse = step.Buffer(step.LseElements);
        var requests = new List<nint>();
        int next = (me + 1) % ranks, previous = (me + ranks - 1) % ranks;
        for (int n = 0; n < ranks; n++)
        {
            int source = (me + ranks - n) % ranks, cur = n % 2;
            fixed (float* kc = keys[cur], vc = values[cur], kn = keys[1 - cur], vn = values[1 - cur], op = partial, lp = partialLse)
            {
                if (n < ranks - 1)
                {
                    int count = runs.Elements(step.Sharding.LocalLength(source));
                    int incoming = runs.Elements(step.Sharding.LocalLength((source + ranks - 1) % ranks));
                    requests.Add(step.Comm.Receive(kn, incoming, previous, 2 * n));
                    requests.Add(step.Comm.Receive(vn, incoming, previous, 2 * n + 1));
                    requests.Add(step.Comm.Send(kc, count, next, 2 * n));
                    requests.Add(step.Comm.Send(vc, count, next, 2 * n + 1));
                    step.BytesSent += 2L * count * sizeof(float);
                    step.BytesReceived += 2L * incoming * sizeof(float);
                    step.BlocksReceived += step.Sharding.BlocksOf((source + ranks - 1) % ranks).Length;
                }
                var blocks = step.Sharding.BlocksOf(source);
                var work = n == 0
                    ? step.Start(blocks, own: true, t.Query, (nint)kc, (nint)vc, t.Output, t.LogSumExp)
                    : step.Start(blocks, own: false, t.Query, (nint)kc, (nint)vc, (nint)op, (nint)lp);
                if (n == 0 && work is null) step.Empty(t.Output, t.LogSumExp);
                step.Wait(requests, $"ring step {n}: exchanging the shard of rank {source} with ranks {previous} and {next}", work);
                if (n > 0 && work is not null) step.Merge(t.Output, t.LogSumExp, partial, partialLse);
            }
        }
    }

    /// <summary>Copies this rank's <paramref name="blocks"/> (global, ascending, all its own) out of its shard, in that order.</summary>
    private static void Pack(Step step, TokenRuns runs, nint shard, int shardLength, ReadOnlySpan<int> blocks, float[] target)
    {
        var source = new ReadOnlySpan<float>((void*)shard, runs.Elements(shardLength));
        int targetLength = step.Tokens(blocks), to = 0;
        foreach (int b in blocks)
        {
            int count = step.Sharding.BlockLength(b);
            runs.Copy(source, shardLength, step.Sharding.LocalIndexOf(b) * step.Sharding.BlockSize, target, targetLength, to, count);
            to += count;
        }
    }
}
