using System.Diagnostics;

namespace SparseNative.Distributed;

/// <summary>
/// Context-parallel block-sparse attention: the sequence is sharded across the ranks of an MPI job
/// (<see cref="SequenceSharding"/>), each rank holds only its shard of Q, K, V and O, and each rank's attention over
/// the key blocks it needs is computed by <see cref="SparseAttention.Forward"/> and combined by
/// <see cref="SparseAttention.MergeStates"/>. See docs/DISTRIBUTED.md.
/// </summary>
public static unsafe partial class DistributedAttention
{
    /// <summary>
    /// Computes this rank's shard of the attention output. Every rank of <paramref name="comm"/> must call it with the same
    /// global shape, layout, sharding and options, and its own shard of the tensors.
    /// </summary>
    /// <param name="comm">The ranks.</param>
    /// <param name="sharding">Which blocks each rank holds; its length must be the shape's sequence length, its block size
    /// the layout's, its rank count the communicator's.</param>
    /// <param name="query">This rank's Q shard: the global Q's tokens of this rank's blocks, in order, shaped
    /// <c>[Batch, QueryHeads, LocalLength, HeadDim]</c> (or BSHD).</param>
    /// <param name="key">This rank's K shard, <c>[Batch, KeyValueHeads, LocalLength, HeadDim]</c>.</param>
    /// <param name="value">This rank's V shard.</param>
    /// <param name="output">This rank's O shard, shaped like <paramref name="query"/>.</param>
    /// <param name="shape">The global shape: self-attention (QueryLength = KeyLength = the sharded sequence).</param>
    /// <param name="layout">The global layout.</param>
    /// <param name="options">Exchange mode and per-rank attention options.</param>
    /// <param name="logSumExp">Optional: this rank's shard of the log-sum-exp, <c>[Batch, QueryHeads, LocalLength]</c>.</param>
    /// <returns>What this rank sent, received and waited for.</returns>
    /// <exception cref="ArgumentException">On every rank alike, when the ranks disagree on the problem or any rank's arguments
    /// are invalid (the rank at fault gets the detailed message; the others name it).</exception>
    /// <exception cref="DistributedTimeoutException">Another rank did not take part within <see cref="Communicator.Timeout"/>.</exception>
    public static DistributedStep Forward(Communicator comm, SequenceSharding sharding,
        ReadOnlySpan<float> query, ReadOnlySpan<float> key, ReadOnlySpan<float> value, Span<float> output,
        AttentionShape shape, BlockLayout layout, DistributedOptions? options = null, Span<float> logSumExp = default)
    {
        ArgumentNullException.ThrowIfNull(comm);
        ArgumentNullException.ThrowIfNull(sharding);
        ArgumentNullException.ThrowIfNull(layout);
        options ??= DistributedOptions.Default;
        var attention = options.Attention ?? AttentionOptions.Default;
        var clock = Stopwatch.StartNew();

        string? error = null, param = null;
        try { Validate(comm, sharding, query.Length, key.Length, value.Length, output.Length, logSumExp.Length, shape, layout, options); }
        catch (ArgumentException e) { param = e.ParamName; error = e.Message.Replace($" (Parameter '{param}')", ""); }
        AgreementCheck.Run(comm, error, param ?? "",
            ("shape.Batch", shape.Batch), ("shape.QueryHeads", shape.QueryHeads), ("shape.KeyValueHeads", shape.KeyValueHeads),
            ("shape.QueryLength", shape.QueryLength), ("shape.KeyLength", shape.KeyLength), ("shape.HeadDim", shape.HeadDim),
            ("layout (digest of its blocks and causal flag)", AgreementCheck.Digest(layout)),
            ("sharding.Kind", (long)sharding.Kind), ("sharding.Ranks", sharding.Ranks),
            ("sharding.SequenceLength", sharding.SequenceLength), ("sharding.BlockSize", sharding.BlockSize),
            ("element type", AgreementCheck.Float32), ("options.Attention.Format", (long)attention.Format),
            ("options.Attention.Causal", attention.Causal ? 1 : 0),
            ("options.Attention.Scale (bits)", BitConverter.SingleToInt32Bits(attention.ResolveScale(Math.Max(1, shape.HeadDim)))),
            ("options.Attention.CheckFinite", attention.CheckFinite ? 1 : 0), ("options.Mode", (long)options.Mode));

        bool causal = attention.Causal || layout.IsCausal;
        var plan = ExchangePlan.Create(sharding, layout, causal);
        var mode = options.Mode == ExchangeMode.Auto ? plan.Choose() : options.Mode;
        var ctx = new Step(comm, plan, shape, attention with { Causal = false });
        float[]? ownLse = logSumExp.IsEmpty ? new float[shape.Batch * shape.QueryHeads * sharding.LocalLength(comm.Rank)] : null;
        Span<float> lse = ownLse ?? logSumExp;
        fixed (float* q = query, k = key, v = value, o = output, l = lse)
        {
            var tensors = new Shard((nint)q, (nint)k, (nint)v, (nint)o, (nint)l);
            try
            {
                switch (mode)
                {
                    case ExchangeMode.Ring: RunRing(ctx, tensors); break;
                    case ExchangeMode.HeadParallel: RunHeadParallel(ctx, tensors); break;
                    default: RunLayoutAware(ctx, tensors); break;
                }
            }
            catch (Exception e) when (e is not DistributedTimeoutException)
            {
                // Transfers may still be pending and the other ranks wait for this one: the job cannot go on.
                comm.Break($"a step failed after the exchange began ({e.GetType().Name}: {e.Message})");
                throw;
            }
        }
        comm.ReleaseHeld();
        return new DistributedStep(mode, ctx.BytesSent, ctx.BytesReceived, ctx.BlocksReceived, clock.Elapsed, ctx.Waiting);
    }

    private static void Validate(Communicator comm, SequenceSharding sharding, int queryLength, int keyLength, int valueLength,
        int outputLength, int lseLength, AttentionShape shape, BlockLayout layout, DistributedOptions options)
    {
        shape.Validate(nameof(shape));
        if (shape.QueryLength != shape.KeyLength)
            throw new ArgumentException($"Context parallelism shards one sequence: QueryLength ({shape.QueryLength}) must equal KeyLength ({shape.KeyLength}).", nameof(shape));
        layout.ValidateFor(shape, nameof(layout));
        var attention = options.Attention ?? AttentionOptions.Default;
        if (!attention.QuerySegmentIds.IsEmpty || !attention.KeySegmentIds.IsEmpty)
            throw new ArgumentException("Segment ids are not supported across ranks; express the segments in the layout (SegmentLayout).", nameof(options));
        if (!Enum.IsDefined(attention.Format))
            throw new ArgumentOutOfRangeException(nameof(options), attention.Format, "Not a TensorFormat.");
        if (!Enum.IsDefined(options.Mode))
            throw new ArgumentOutOfRangeException(nameof(options), options.Mode, "Not an ExchangeMode.");
        if (sharding.Ranks != comm.Size)
            throw new ArgumentException($"The sharding is for {sharding.Ranks} ranks; the communicator has {comm.Size}.", nameof(sharding));
        if (sharding.SequenceLength != shape.QueryLength || sharding.BlockSize != layout.BlockSize)
            throw new ArgumentException($"The sharding ({sharding}) does not match the shape's length {shape.QueryLength} and the layout's block size {layout.BlockSize}.", nameof(sharding));
        if (options.Mode == ExchangeMode.HeadParallel && (shape.QueryHeads % comm.Size != 0 || shape.KeyValueHeads % comm.Size != 0))
            throw new ArgumentException($"Head-parallel mode splits the heads: QueryHeads ({shape.QueryHeads}) and KeyValueHeads ({shape.KeyValueHeads}) must divide by the {comm.Size} ranks.", nameof(options));
        int local = sharding.LocalLength(comm.Rank);
        long qElements = (long)shape.Batch * shape.QueryHeads * local * shape.HeadDim;
        long kvElements = (long)shape.Batch * shape.KeyValueHeads * local * shape.HeadDim;
        Length(queryLength, qElements, "query");
        Length(keyLength, kvElements, "key");
        Length(valueLength, kvElements, "value");
        Length(outputLength, qElements, "output");
        if (lseLength != 0) Length(lseLength, (long)shape.Batch * shape.QueryHeads * local, "logSumExp");

        void Length(int actual, long expected, string name)
        {
            if (actual != expected)
                throw new ArgumentException($"{name} has {actual} elements; this rank's shard ({local} of {shape.QueryLength} tokens) needs {expected}.", name);
        }
    }

    /// <summary>This rank's tensors, pinned by <see cref="Forward"/> for the whole step (addresses, so that tasks can use them).</summary>
    private readonly record struct Shard(nint Query, nint Key, nint Value, nint Output, nint LogSumExp);
}
