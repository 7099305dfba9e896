namespace SparseNative;

/// <summary>
/// How K and V lie in memory when they are a serving cache rather than tensors of exactly <c>KeyLength</c> tokens
/// (<see cref="AttentionOptions.KeyValueCache"/>; docs/SEMANTICS.md, "Key/value caches"). Either form is read where it lies:
/// no copy per step, and appending a token is the caller's write of one row (<see cref="RowOffset"/>).
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><see cref="Preallocated"/>: K and V are <c>[Batch, KeyValueHeads, Capacity, HeadDim]</c> (BSHD:
/// <c>[Batch, Capacity, KeyValueHeads, HeadDim]</c>) of which each sequence's first tokens are used. The capacity is the
/// tensor's token stride; <see cref="AttentionShape.KeyLength"/> ≤ capacity says how many tokens are read.</item>
/// <item><see cref="Paged"/>: K and V are <see cref="Pages"/> pages of the layout's block size, <c>[Pages, KeyValueHeads,
/// BlockSize, HeadDim]</c> (BSHD: <c>[Pages, BlockSize, KeyValueHeads, HeadDim]</c>; FlashInfer's HND and NHD), and
/// <see cref="BlockTable"/> <c>[Batch, BlocksPerSequence]</c> maps each sequence's logical key block to its page (vLLM's block
/// table).</item>
/// </list>
/// With <see cref="SequenceLengths"/> <c>[Batch]</c>, sequence <c>b</c> has that many keys (0 … KeyLength): keys past it are not
/// attended, and the causal rule aligns its queries to its own end. KeyLength is then the longest any sequence may have (the
/// layout covers its blocks).
/// </remarks>
public sealed record KeyValueCache
{
    private KeyValueCache() { }

    /// <summary>Tokens per sequence a preallocated cache holds (its token stride); 0 for a paged cache.</summary>
    public int Capacity { get; private init; }

    /// <summary>Pages in the K (and the V) tensor of a paged cache; 0 for a preallocated one.</summary>
    public int Pages { get; private init; }

    /// <summary><c>[Batch, BlocksPerSequence]</c>: entry <c>(b, kb)</c> is the page holding key block <c>kb</c> of sequence <c>b</c>.
    /// Only the entries of a sequence's blocks are read (the rest may hold anything, e.g. −1).</summary>
    public ReadOnlyMemory<int> BlockTable { get; private init; }

    /// <summary>The block table's row length.</summary>
    public int BlocksPerSequence { get; private init; }

    /// <summary><c>[Batch]</c> keys per sequence, or empty: every sequence has <see cref="AttentionShape.KeyLength"/>.</summary>
    public ReadOnlyMemory<int> SequenceLengths { get; private init; }

    /// <summary>Whether K and V are pages read through <see cref="BlockTable"/>.</summary>
    public bool IsPaged { get; private init; }

    /// <summary>A preallocated cache with room for <paramref name="capacity"/> tokens per sequence.</summary>
    public static KeyValueCache Preallocated(int capacity, ReadOnlyMemory<int> sequenceLengths = default) =>
        new() { Capacity = capacity, SequenceLengths = sequenceLengths };

    /// <summary>A paged cache of <paramref name="pages"/> pages, read through <paramref name="blockTable"/>.</summary>
    public static KeyValueCache Paged(int pages, ReadOnlyMemory<int> blockTable, int blocksPerSequence,
        ReadOnlyMemory<int> sequenceLengths = default) =>
        new() { IsPaged = true, Pages = pages, BlockTable = blockTable, BlocksPerSequence = blocksPerSequence, SequenceLengths = sequenceLengths };

    /// <summary>
    /// The element offset, in the K (or V) tensor of this cache, of token <paramref name="token"/> of K/V head
    /// <paramref name="head"/> in sequence <paramref name="sequence"/>: where a caller writes a new token's key and value
    /// (paged: in the page the block table names for the token's block; the table must hold that entry already).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The sequence, head or token lies outside the cache.</exception>
    public long RowOffset(int sequence, int head, int token, int keyValueHeads, int headDim, int blockSize, TensorFormat format = TensorFormat.Bhsd)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sequence);
        ArgumentOutOfRangeException.ThrowIfNegative(token);
        if ((uint)head >= (uint)keyValueHeads) throw new ArgumentOutOfRangeException(nameof(head), head, $"K/V heads are 0 … {keyValueHeads - 1}.");
        if (!IsPaged)
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(token, Capacity);
            return new Dispatch.TensorRows(format, keyValueHeads, Capacity, headDim).Row(sequence, head, token);
        }
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(token / blockSize, BlocksPerSequence, nameof(token));
        int page = BlockTable.Span[checked(sequence * BlocksPerSequence + token / blockSize)];
        if ((uint)page >= (uint)Pages)
            throw new ArgumentOutOfRangeException(nameof(token), $"BlockTable[{sequence}, {token / blockSize}] = {page} is not a page (0 … {Pages - 1}).");
        return new Dispatch.TensorRows(format, keyValueHeads, blockSize, headDim).Row(page, head, token % blockSize);
    }
}
