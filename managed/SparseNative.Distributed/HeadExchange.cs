namespace SparseNative.Distributed;

/// <summary>
/// The all-to-all between sequence shards (every head, this rank's tokens) and head shards (a group of heads, every
/// token in global order) of one tensor. On the wire each rank pair's part is rows (b, head of the group, local token)
/// of <c>width</c> floats, in that order.
/// </summary>
internal sealed unsafe class HeadExchange(Step step, int heads, int groupHeads, int width, TensorFormat format)
{
    private SequenceSharding Sharding => step.Sharding;
    private int Batch => step.Shape.Batch;
    private int Length => Sharding.SequenceLength;

    internal sealed class Pending(nint request, Action finish)
    {
        internal nint Request { get; } = request;
        internal void Finish() => finish();
    }

    private int Row(int headCount, int length, int b, int h, int t) => TokenRuns.Offset(format, headCount, length, width, b, h, t);

    /// <summary>Sequence shard (at <paramref name="shard"/>) → this rank's head group over the whole sequence.</summary>
    internal void ToHeads(nint shard, float[] target, out Pending pending)
    {
        int me = step.Rank, ranks = step.Ranks, local = Sharding.LocalLength(me);
        var src = new ReadOnlySpan<float>((void*)shard, Batch * heads * local * width);
        var (send, sendCounts, sendOffsets) = Buffers(p => Batch * groupHeads * local * width);
        for (int p = 0, at = 0; p < ranks; p++)
            for (int b = 0; b < Batch; b++)
            for (int h = 0; h < groupHeads; h++)
            for (int t = 0; t < local; t++, at += width)
                src.Slice(Row(heads, local, b, p * groupHeads + h, t), width).CopyTo(send.AsSpan(at, width));
        var (receive, receiveCounts, receiveOffsets) = Buffers(s => Batch * groupHeads * Sharding.LocalLength(s) * width);
        pending = Post(send, sendCounts, sendOffsets, receive, receiveCounts, receiveOffsets, () =>
        {
            for (int s = 0, at = 0; s < ranks; s++)
                for (int b = 0; b < Batch; b++)
                for (int h = 0; h < groupHeads; h++)
                for (int t = 0; t < Sharding.LocalLength(s); t++, at += width)
                    receive.AsSpan(at, width).CopyTo(target.AsSpan(Row(groupHeads, Length, b, h, Sharding.GlobalToken(s, t)), width));
        });
    }

    /// <summary>This rank's head group over the whole sequence → sequence shard (at <paramref name="shard"/>).</summary>
    internal void ToSequence(float[] source, nint shard, out Pending pending)
    {
        int me = step.Rank, ranks = step.Ranks, local = Sharding.LocalLength(me);
        var (send, sendCounts, sendOffsets) = Buffers(p => Batch * groupHeads * Sharding.LocalLength(p) * width);
        for (int p = 0, at = 0; p < ranks; p++)
            for (int b = 0; b < Batch; b++)
            for (int h = 0; h < groupHeads; h++)
            for (int t = 0; t < Sharding.LocalLength(p); t++, at += width)
                source.AsSpan(Row(groupHeads, Length, b, h, Sharding.GlobalToken(p, t)), width).CopyTo(send.AsSpan(at, width));
        var (receive, receiveCounts, receiveOffsets) = Buffers(s => Batch * groupHeads * local * width);
        pending = Post(send, sendCounts, sendOffsets, receive, receiveCounts, receiveOffsets, () =>
        {
            var dst = new Span<float>((void*)shard, Batch * heads * local * width);
            for (int s = 0, at = 0; s < ranks; s++)
                for (int b = 0; b < Batch; b++)
                for (int h = 0; h < groupHeads; h++)
                for (int t = 0; t < local; t++, at += width)
                    receive.AsSpan(at, width).CopyTo(dst.Slice(Row(heads, local, b, s * groupHeads + h, t), width));
        });
    }

    private (float[] Buffer, int[] Counts, int[] Offsets) Buffers(Func<int, int> count)
    {
        int ranks = step.Ranks;
        var counts = new int[ranks];
        var offsets = new int[ranks];
        long total = 0;
        for (int r = 0; r < ranks; r++) { counts[r] = count(r); offsets[r] = checked((int)total); total += counts[r]; }
        return (step.Buffer(checked((int)total)), counts, offsets);
    }

    private Pending Post(float[] send, int[] sendCounts, int[] sendOffsets, float[] receive, int[] receiveCounts, int[] receiveOffsets, Action unpack)
    {
        int me = step.Rank;
        step.BytesSent += (send.Length - sendCounts[me]) * (long)sizeof(float);
        step.BytesReceived += (receive.Length - receiveCounts[me]) * (long)sizeof(float);
        fixed (float* s = send, r = receive)
        {
            nint request = step.Comm.AllToAll(s, sendCounts, sendOffsets, r, receiveCounts, receiveOffsets);
            return new Pending(request, () => { unpack(); GC.KeepAlive(send); });
        }
    }
}
