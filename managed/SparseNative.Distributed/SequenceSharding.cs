namespace SparseNative.Distributed;

/// <summary>How the sequence is split across ranks.</summary>
public enum ShardingKind
{
    /// <summary>Rank r holds one contiguous run of blocks; the first <c>blocks mod ranks</c> ranks hold one block more.</summary>
    Contiguous,

    /// <summary>
    /// The blocks are cut into 2·ranks contiguous chunks (sized as <see cref="Contiguous"/> would for 2·ranks) and rank r
    /// holds chunks r and 2·ranks − 1 − r: an early and a late part of the sequence, so that under a causal mask every rank
    /// has about the same number of (query, key) pairs (striped / zig-zag context parallelism).
    /// </summary>
    ZigZag,
}

/// <summary>
/// Which blocks of a sequence each rank holds. Sharding is by whole blocks of the layout's block size; a rank's blocks
/// are stored in ascending order (so its local tokens keep the global order, and the sequence's partial last block, if
/// any, is the last block of its rank). Q, K, V and O (and the log-sum-exp) are sharded alike.
/// </summary>
public sealed class SequenceSharding
{
    private readonly int[][] _blocks;
    private readonly int[] _owner;
    private readonly int[] _localIndex;

    private SequenceSharding(ShardingKind kind, int length, int blockSize, int ranks, int[][] blocks)
    {
        Kind = kind;
        SequenceLength = length;
        BlockSize = blockSize;
        Ranks = ranks;
        _blocks = blocks;
        int total = blocks.Sum(b => b.Length);
        _owner = new int[total];
        _localIndex = new int[total];
        for (int r = 0; r < ranks; r++)
            for (int i = 0; i < blocks[r].Length; i++) { _owner[blocks[r][i]] = r; _localIndex[blocks[r][i]] = i; }
    }

    /// <summary>The rule.</summary>
    public ShardingKind Kind { get; }

    /// <summary>The whole sequence's length in tokens.</summary>
    public int SequenceLength { get; }

    /// <summary>The block size (the layout's).</summary>
    public int BlockSize { get; }

    /// <summary>The number of ranks.</summary>
    public int Ranks { get; }

    /// <summary>The number of blocks of the whole sequence.</summary>
    public int Blocks => _owner.Length;

    /// <summary>Sharding by <paramref name="kind"/>; every rank must hold at least one block (at least two chunks' worth for zig-zag).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, the block size is not one a layout may have, or there are too few blocks.</exception>
    public static SequenceSharding Create(ShardingKind kind, int sequenceLength, int blockSize, int ranks)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sequenceLength);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ranks);
        if (!BlockLayout.SupportedBlockSizes.Contains(blockSize))
            throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, "The block size must be 16, 32, 64 or 128 (a layout's).");
        int blocks = BlockLayout.BlocksFor(sequenceLength, blockSize);
        int chunks = kind == ShardingKind.ZigZag ? 2 * ranks : ranks;
        if (blocks < chunks)
            throw new ArgumentOutOfRangeException(nameof(ranks), ranks,
                $"{blocks} blocks of {blockSize} tokens cannot give each of {ranks} ranks {(kind == ShardingKind.ZigZag ? "two chunks" : "a block")}: use fewer ranks or smaller blocks.");
        int[] starts = Split(blocks, chunks);
        var perRank = new int[ranks][];
        for (int r = 0; r < ranks; r++)
            perRank[r] = kind switch
            {
                ShardingKind.Contiguous => Range(starts[r], starts[r + 1]),
                ShardingKind.ZigZag => [.. Range(starts[r], starts[r + 1]), .. Range(starts[chunks - 1 - r], starts[chunks - r])],
                _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Not a ShardingKind."),
            };
        return new SequenceSharding(kind, sequenceLength, blockSize, ranks, perRank);
    }

    /// <summary>The global block indices rank <paramref name="rank"/> holds, ascending (its local block i is the i-th).</summary>
    public ReadOnlySpan<int> BlocksOf(int rank) => _blocks[rank];

    /// <summary>The rank that holds global block <paramref name="block"/>.</summary>
    public int OwnerOf(int block) => _owner[block];

    /// <summary>The position of global block <paramref name="block"/> among its owner's blocks.</summary>
    public int LocalIndexOf(int block) => _localIndex[block];

    /// <summary>The tokens in global block <paramref name="block"/> (only the last may be short).</summary>
    public int BlockLength(int block) => Math.Min(BlockSize, SequenceLength - block * BlockSize);

    /// <summary>The tokens rank <paramref name="rank"/> holds: its local sequence length.</summary>
    public int LocalLength(int rank)
    {
        int sum = 0;
        foreach (int block in _blocks[rank]) sum += BlockLength(block);
        return sum;
    }

    /// <summary>The global position of rank <paramref name="rank"/>'s local token <paramref name="localToken"/>.</summary>
    public int GlobalToken(int rank, int localToken) => _blocks[rank][localToken / BlockSize] * BlockSize + localToken % BlockSize;

    /// <summary><paramref name="count"/> items in <paramref name="parts"/> runs, the first <c>count mod parts</c> one longer.</summary>
    private static int[] Split(int count, int parts)
    {
        var starts = new int[parts + 1];
        for (int p = 0; p < parts; p++) starts[p + 1] = starts[p] + count / parts + (p < count % parts ? 1 : 0);
        return starts;
    }

    private static int[] Range(int from, int to) => Enumerable.Range(from, to - from).ToArray();

    /// <inheritdoc/>
    public override string ToString() => $"{Kind} sharding of {SequenceLength} tokens ({Blocks} blocks of {BlockSize}) over {Ranks} ranks";
}
