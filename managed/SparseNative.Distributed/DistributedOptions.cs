namespace SparseNative.Distributed;

/// <summary>How the key/value blocks travel between ranks.</summary>
public enum ExchangeMode
{
    /// <summary>Layout-aware unless some rank would receive more than half of what the ring brings it (then the ring).</summary>
    Auto,

    /// <summary>Each rank receives exactly the remote key/value blocks its query blocks reference, each once, straight from their owner.</summary>
    LayoutAware,

    /// <summary>Ring attention: every shard visits every rank, one neighbour hop per step, two shards in memory at a time.</summary>
    Ring,

    /// <summary>Head-parallel (DeepSpeed Ulysses): an all-to-all from sequence shards to head shards, attention over the whole
    /// sequence for Hq/ranks heads, and an all-to-all back.</summary>
    HeadParallel,
}

/// <summary>Options of <see cref="DistributedAttention.Forward"/>.</summary>
public sealed record DistributedOptions
{
    /// <summary>The defaults: Auto exchange, default attention options.</summary>
    public static DistributedOptions Default { get; } = new();

    /// <summary>The exchange; <see cref="ExchangeMode.Auto"/> by default.</summary>
    public ExchangeMode Mode { get; init; } = ExchangeMode.Auto;

    /// <summary>The per-rank attention options (scale, causal, backend, threads, format). Segment ids are not supported across ranks.</summary>
    public AttentionOptions Attention { get; init; } = AttentionOptions.Default;
}

/// <summary>What one distributed step did on this rank.</summary>
/// <param name="Mode">The exchange that ran.</param>
/// <param name="BytesSent">Bytes of keys and values (or, head-parallel, of all tensors) this rank sent.</param>
/// <param name="BytesReceived">Bytes it received.</param>
/// <param name="BlocksReceived">Key blocks received (each carries its keys and values for every batch and key/value head).</param>
/// <param name="Elapsed">Wall time of the step, checks included.</param>
/// <param name="Waiting">Time spent waiting for messages after this rank's own work was done.</param>
public sealed record DistributedStep(ExchangeMode Mode, long BytesSent, long BytesReceived, long BlocksReceived, TimeSpan Elapsed, TimeSpan Waiting);
