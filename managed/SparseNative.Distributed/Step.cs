namespace SparseNative.Distributed;

/// <summary>
/// One distributed step on one rank: the problem, the per-rank attention over a set of key blocks (a sub-layout run by
/// <see cref="SparseAttention.Forward"/>), the fixed-order merge into the output, and the traffic counters.
/// </summary>
internal sealed unsafe class Step(Communicator comm, ExchangePlan plan, AttentionShape shape, AttentionOptions attention)
{
    internal Communicator Comm { get; } = comm;
    internal ExchangePlan Plan { get; } = plan;
    internal AttentionShape Shape { get; } = shape;
    internal AttentionOptions Attention { get; } = attention;
    internal TensorFormat Format => Attention.Format;
    internal int Rank => Comm.Rank;
    internal int Ranks => Comm.Size;
    internal SequenceSharding Sharding => Plan.Sharding;
    internal int LocalLength => Sharding.LocalLength(Rank);
    internal TokenRuns KeyRuns => new(Shape.Batch, Shape.KeyValueHeads, Shape.HeadDim, Attention.Format);
    internal int OutputElements => Shape.Batch * Shape.QueryHeads * LocalLength * Shape.HeadDim;
    internal int LseElements => Shape.Batch * Shape.QueryHeads * LocalLength;

    internal long BytesSent { get; set; }
    internal long BytesReceived { get; set; }
    internal long BlocksReceived { get; set; }
    internal TimeSpan Waiting { get; private set; }

    /// <summary>
    /// A pinned buffer that MPI may read or write. The communicator holds it until the step ends: after a timeout the
    /// transfers into it are still pending, and the buffer must outlive them (until MPI_Abort), never be collected.
    /// </summary>
    internal float[] Buffer(int count)
    {
        var buffer = GC.AllocateUninitializedArray<float>(count, pinned: true);
        Comm.Hold(buffer);
        return buffer;
    }

    /// <summary>Tokens in a list of global blocks.</summary>
    internal int Tokens(ReadOnlySpan<int> blocks)
    {
        int sum = 0;
        foreach (int b in blocks) sum += Sharding.BlockLength(b);
        return sum;
    }

    /// <summary>
    /// Starts this rank's attention against <paramref name="keyBlocks"/> (global, ascending, held at <paramref name="key"/> /
    /// <paramref name="value"/> in that order) into <paramref name="output"/> / <paramref name="lse"/>; null when the layout
    /// leaves no pair. Only the rank's own blocks can hold a diagonal block, so only they need the causal mask: local
    /// positions keep the global order, which makes the mask on local positions the global one.
    /// </summary>
    internal Task? Start(ReadOnlySpan<int> keyBlocks, bool own, nint query, nint key, nint value, nint output, nint lse)
    {
        var sub = Plan.SubLayout(Rank, keyBlocks);
        if (sub is null) return null;
        var subShape = Shape with { QueryLength = LocalLength, KeyLength = Tokens(keyBlocks) };
        var options = Attention with { Causal = own && Plan.Causal };
        return Task.Run(() =>
        {
            SparseAttention.Forward(
                new ReadOnlySpan<float>((void*)query, checked((int)subShape.QueryElements)),
                new ReadOnlySpan<float>((void*)key, checked((int)subShape.KeyElements)),
                new ReadOnlySpan<float>((void*)value, checked((int)subShape.KeyElements)),
                new Span<float>((void*)output, OutputElements), subShape, sub, options,
                new Span<float>((void*)lse, LseElements));
        });
    }

    /// <summary>The output of a rank none of whose pairs are computed yet: 0 and −∞ (what the merge treats as "no keys").</summary>
    internal void Empty(nint output, nint lse)
    {
        new Span<float>((void*)output, OutputElements).Clear();
        new Span<float>((void*)lse, LseElements).Fill(float.NegativeInfinity);
    }

    /// <summary>Merges a partial result into the accumulated one, in place (<see cref="SparseAttention.MergeStates"/>).</summary>
    internal void Merge(nint output, nint lse, float[] partial, float[] partialLse)
    {
        var o = new Span<float>((void*)output, OutputElements);
        var l = new Span<float>((void*)lse, LseElements);
        SparseAttention.MergeStates(o, l, partial, partialLse, o, l, Shape with { QueryLength = LocalLength }, Attention.Format);
    }

    /// <summary>Waits (with the deadline) for <paramref name="requests"/> and for <paramref name="work"/>; counts the time spent waiting after the work.</summary>
    internal void Wait(List<nint> requests, string what, Task? work)
    {
        Waiting += Comm.WaitAll(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(requests), what, work);
        requests.Clear();
    }
}
