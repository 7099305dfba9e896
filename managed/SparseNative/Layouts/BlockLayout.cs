using System.Numerics;

namespace SparseNative;

/// <summary>
/// Which key blocks each query block attends to: an immutable CSR list per layout head.
/// </summary>
/// <remarks>
/// <para>The sequence is cut into blocks of <see cref="BlockSize"/> tokens (16, 32, 64 or 128). A layout holds
/// <see cref="LayoutCount"/> lists; query head <c>h</c> uses list <c>h % LayoutCount</c>, so one list is shared by every
/// head, <c>QueryHeads</c> lists give one per head, and any divisor of the head count reproduces ONNX Runtime's
/// <c>num_layout</c> convention.</para>
/// <para>In each list, row <c>r</c> (a query block) holds strictly increasing key-block indices in
/// <c>[0, KeyBlocks)</c>. Token-level rules (causal, sequence tails, segment ids) apply on top; see docs/SEMANTICS.md.</para>
/// <para>A layout built as causal (<see cref="BlockPatterns.Causal"/> and every causal or unidirectional builder) has
/// <see cref="IsCausal"/> set, and attention over it always applies the token causal mask: its diagonal blocks hold future
/// tokens, which the block choice alone cannot exclude.</para>
/// </remarks>
public sealed partial class BlockLayout : IEquatable<BlockLayout>
{
    /// <summary>The block sizes every backend supports.</summary>
    public static ReadOnlySpan<int> SupportedBlockSizes => [16, 32, 64, 128];

    private readonly int[] _rowOffsets;   // LayoutCount × (QueryBlocks + 1); each list's offsets start at 0
    private readonly int[] _columns;      // every list's columns, one list after the other
    private readonly int[] _listStart;    // LayoutCount + 1: where each list's columns start in _columns

    /// <summary>Tokens per block along both the query and key axes.</summary>
    public int BlockSize { get; }

    /// <summary>Query blocks (rows of each list).</summary>
    public int QueryBlocks { get; }

    /// <summary>Key blocks (columns of each list).</summary>
    public int KeyBlocks { get; }

    /// <summary>Number of CSR lists; query head <c>h</c> uses list <c>h % LayoutCount</c>.</summary>
    public int LayoutCount { get; }

    /// <summary>
    /// Whether the token causal mask (<c>j ≤ i + KeyLength − QueryLength</c>, bottom-right aligned) is part of this layout's
    /// meaning. When true, <see cref="SparseAttention.Forward"/> and every other entry point mask causally whatever
    /// <see cref="AttentionOptions.Causal"/> says. Set by the causal and unidirectional builders (and by
    /// <see cref="FromOnnxRuntime"/>, whose source is always causal); false for <see cref="FromCsr"/>, <see cref="FromDense(bool[,], int)"/>,
    /// <see cref="FromPredicate"/>, <see cref="FromDeepSpeed"/> and the bidirectional builders. Change it with <see cref="WithCausal"/>.
    /// </summary>
    public bool IsCausal { get; }

    // Trusted constructor: callers have validated (FromCsr) or constructed the arrays correctly (builders).
    private BlockLayout(int blockSize, int queryBlocks, int keyBlocks, int layoutCount, int[] rowOffsets, int[] columns,
        bool isCausal = false)
    {
        BlockSize = blockSize;
        QueryBlocks = queryBlocks;
        KeyBlocks = keyBlocks;
        LayoutCount = layoutCount;
        IsCausal = isCausal;
        _rowOffsets = rowOffsets;
        _columns = columns;
        _listStart = new int[layoutCount + 1];
        for (int l = 0; l < layoutCount; l++)
            _listStart[l + 1] = _listStart[l] + rowOffsets[l * (queryBlocks + 1) + queryBlocks];
    }

    /// <summary>
    /// This layout with <see cref="IsCausal"/> = <paramref name="causal"/> and the same blocks (the arrays are shared, so this
    /// is cheap). <c>WithCausal(true)</c> marks an imported layout as causal; <c>WithCausal(false)</c> opts out deliberately,
    /// for attention that is causal at block granularity only (whole diagonal blocks visible).
    /// </summary>
    public BlockLayout WithCausal(bool causal) => causal == IsCausal
        ? this
        : new BlockLayout(BlockSize, QueryBlocks, KeyBlocks, LayoutCount, _rowOffsets, _columns, causal);

    /// <summary>Active (query block, key block) pairs summed over all lists.</summary>
    public long ActiveBlocks => _columns.Length;

    /// <summary>Fraction of the <c>LayoutCount × QueryBlocks × KeyBlocks</c> block grid that is active.</summary>
    public double Density => (double)ActiveBlocks / ((double)LayoutCount * QueryBlocks * KeyBlocks);

    /// <summary>The list used by a query head.</summary>
    public int ListForHead(int head) => head % LayoutCount;

    /// <summary>Active blocks of one list.</summary>
    public int ActiveBlocksInList(int list) => _listStart[list + 1] - _listStart[list];

    /// <summary>The <c>QueryBlocks + 1</c> row offsets of one list (starting at 0, into <see cref="ColumnIndices"/>).</summary>
    public ReadOnlySpan<int> RowOffsets(int list) => _rowOffsets.AsSpan(list * (QueryBlocks + 1), QueryBlocks + 1);

    /// <summary>The column indices of one list, row after row.</summary>
    public ReadOnlySpan<int> ColumnIndices(int list) => _columns.AsSpan(_listStart[list], ActiveBlocksInList(list));

    /// <summary>The key blocks that query block <paramref name="queryBlock"/> of list <paramref name="list"/> attends to, ascending.</summary>
    public ReadOnlySpan<int> Row(int list, int queryBlock)
    {
        int o = list * (QueryBlocks + 1) + queryBlock;
        return _columns.AsSpan(_listStart[list] + _rowOffsets[o], _rowOffsets[o + 1] - _rowOffsets[o]);
    }

    /// <summary>All lists' row offsets, concatenated (<c>LayoutCount × (QueryBlocks + 1)</c>): the layout the C ABI takes.</summary>
    public ReadOnlySpan<int> AllRowOffsets => _rowOffsets;

    /// <summary>All lists' column indices, concatenated in list order: the layout the C ABI takes.</summary>
    public ReadOnlySpan<int> AllColumnIndices => _columns;

    /// <summary>Whether query head <paramref name="head"/>'s query block attends to the key block.</summary>
    public bool Contains(int head, int queryBlock, int keyBlock)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(head);
        ArgumentOutOfRangeException.ThrowIfNegative(queryBlock);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(queryBlock, QueryBlocks);
        ArgumentOutOfRangeException.ThrowIfNegative(keyBlock);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(keyBlock, KeyBlocks);
        return Row(ListForHead(head), queryBlock).BinarySearch(keyBlock) >= 0;
    }

    /// <summary>The block count a sequence of <paramref name="length"/> tokens needs.</summary>
    public static int BlocksFor(int length, int blockSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(blockSize);
        return (int)(((long)length + blockSize - 1) / blockSize); // long: no overflow near int.MaxValue
    }

    /// <summary>Throws unless the layout covers the shape exactly and its lists fit the head count.</summary>
    public void ValidateFor(AttentionShape shape, string paramName = "layout")
    {
        int qb = shape.QueryBlocks(BlockSize), kb = shape.KeyBlocks(BlockSize);
        if (QueryBlocks != qb)
            throw new InvalidLayoutException(
                $"The layout has {QueryBlocks} query blocks but QueryLength {shape.QueryLength} at block size {BlockSize} needs {qb}.", paramName);
        if (KeyBlocks != kb)
            throw new InvalidLayoutException(
                $"The layout has {KeyBlocks} key blocks but KeyLength {shape.KeyLength} at block size {BlockSize} needs {kb}.", paramName);
        if (shape.QueryHeads % LayoutCount != 0)
            throw new InvalidLayoutException(
                $"The layout has {LayoutCount} lists, which does not divide QueryHeads {shape.QueryHeads}.", paramName);
    }

    /// <summary>Active (query, key) token pairs that one query head computes, block granularity (tails counted in full).</summary>
    public long ActiveBlocksForHead(int head) => ActiveBlocksInList(ListForHead(head));

    internal static void ValidateBlockSize(int blockSize, string paramName)
    {
        if (!SupportedBlockSizes.Contains(blockSize))
            throw new ArgumentOutOfRangeException(paramName, blockSize,
                $"Block size {blockSize} is not supported; use 16, 32, 64 or 128.");
    }

    /// <inheritdoc />
    public bool Equals(BlockLayout? other) =>
        other is not null && BlockSize == other.BlockSize && QueryBlocks == other.QueryBlocks &&
        KeyBlocks == other.KeyBlocks && LayoutCount == other.LayoutCount && IsCausal == other.IsCausal &&
        _rowOffsets.AsSpan().SequenceEqual(other._rowOffsets) && _columns.AsSpan().SequenceEqual(other._columns);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as BlockLayout);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var h = new HashCode();
        h.Add(BlockSize); h.Add(QueryBlocks); h.Add(KeyBlocks); h.Add(LayoutCount); h.Add(IsCausal);
        h.AddBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(_columns.AsSpan()));
        return h.ToHashCode();
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"BlockLayout(block {BlockSize}, {QueryBlocks}×{KeyBlocks} blocks, {LayoutCount} list(s), {ActiveBlocks} active, density {Density:P1}{(IsCausal ? ", causal" : "")})";
}
