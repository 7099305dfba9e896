using SparseNative.Dispatch;

namespace SparseNative;

public static partial class SparseAttention
{
    /// <summary>
    /// The checks of a <see cref="KeyValueCache"/>, part of <see cref="ValidateSettings"/>: its sizes fit, every sequence length
    /// lies in 0 … KeyLength, and for a paged cache every block a sequence uses has a table entry naming an existing page, and a
    /// page used in several places holds the same tokens in each (the same block, equally full: a shared prefix or a fork).
    /// Only the entries a sequence's length uses are read.
    /// </summary>
    private static void ValidateCache(KeyValueCache cache, AttentionShape shape, int blockSize)
    {
        var lengths = cache.SequenceLengths.Span;
        if (!lengths.IsEmpty)
        {
            Length(lengths.Length, shape.Batch, nameof(cache.SequenceLengths), "Batch");
            for (int b = 0; b < lengths.Length; b++)
                if ((uint)lengths[b] > (uint)shape.KeyLength)
                    throw new ArgumentOutOfRangeException(nameof(cache.SequenceLengths), lengths[b],
                        $"SequenceLengths[{b}] = {lengths[b]}; a sequence has 0 … KeyLength ({shape.KeyLength}) keys.");
        }
        long perToken = (long)shape.KeyValueHeads * shape.HeadDim;
        if (!cache.IsPaged)
        {
            if (cache.Capacity < shape.KeyLength)
                throw new ArgumentOutOfRangeException(nameof(cache.Capacity), cache.Capacity,
                    $"Capacity {cache.Capacity} is below KeyLength {shape.KeyLength}: the cache cannot hold the keys read.");
            FitsSpan((Int128)shape.Batch * cache.Capacity * perToken, "Batch·KeyValueHeads·Capacity·HeadDim", nameof(cache.Capacity));
            return;
        }

        if (cache.Pages <= 0) throw new ArgumentOutOfRangeException(nameof(cache.Pages), cache.Pages, "A paged cache needs at least one page.");
        FitsSpan((Int128)cache.Pages * blockSize * perToken, "Pages·KeyValueHeads·BlockSize·HeadDim", nameof(cache.Pages));
        int perSequence = cache.BlocksPerSequence;
        if (perSequence <= 0)
            throw new ArgumentOutOfRangeException(nameof(cache.BlocksPerSequence), perSequence, "BlocksPerSequence must be positive.");
        var table = cache.BlockTable.Span;
        Length(table.Length, (long)shape.Batch * perSequence, nameof(cache.BlockTable), "Batch·BlocksPerSequence");

        // Who uses each page: (sequence, block, tokens in it) of its first user, or sequence −1 for none yet.
        var users = new (int Sequence, int Block, int Tokens)[cache.Pages];
        users.AsSpan().Fill((-1, 0, 0));
        for (int b = 0; b < shape.Batch; b++)
        {
            int length = lengths.IsEmpty ? shape.KeyLength : lengths[b], blocks = BlockLayout.BlocksFor(length, blockSize);
            if (blocks > perSequence)
                throw new ArgumentException(
                    $"BlockTable has {perSequence} blocks per sequence; sequence {b} has {length} keys in {blocks} blocks of {blockSize}.",
                    nameof(cache.BlockTable));
            for (int kb = 0; kb < blocks; kb++)
            {
                int page = table[b * perSequence + kb], tokens = Math.Min(blockSize, length - kb * blockSize);
                if ((uint)page >= (uint)cache.Pages)
                    throw new ArgumentOutOfRangeException(nameof(cache.BlockTable), page,
                        $"BlockTable[{b}, {kb}] = {page} is not a page (0 … {cache.Pages - 1}).");
                var user = users[page];
                if (user.Sequence < 0) users[page] = (b, kb, tokens);
                else if (user.Block != kb || user.Tokens != tokens)
                    throw new ArgumentException(
                        $"BlockTable: page {page} is block {user.Block} of sequence {user.Sequence} ({user.Tokens} tokens) and block {kb} " +
                        $"of sequence {b} ({tokens} tokens); a page in several places must be the same block, equally full, in each.",
                        nameof(cache.BlockTable));
            }
        }
    }

    private static void FitsSpan(Int128 elements, string formula, string name)
    {
        if (elements > int.MaxValue)
            throw new ArgumentException($"{formula} = {elements}: the key and value tensors would exceed the {int.MaxValue} elements a span can index.", name);
    }

    /// <summary>
    /// <see cref="Finite"/> for K or V: the whole tensor when it is plain, else only the rows the call reads (a cache's
    /// sequences; a strided view's rows). Returns the largest magnitude read.
    /// </summary>
    private static unsafe float FiniteKeys<T>(ReadOnlySpan<T> x, string name, in ProblemSettings settings) where T : unmanaged
    {
        if (settings.Cache is null) return Finite(x, name, settings.Shape.HeadDim);
        // A cache's K/V are float32 (CreateProblem refuses others).
        fixed (T* p = x) return FiniteRows((float*)p, name, settings);
    }

    /// <summary>Throws unless every K or V row the call reads is finite (rows through the cache or the strides); returns the largest magnitude.</summary>
    private static unsafe float FiniteRows(float* x, string name, in ProblemSettings settings)
    {
        var cache = settings.Cache;
        var s = settings.Shape;
        var rows = settings.Geometry.Keys;
        int bs = settings.Layout.BlockSize, d = s.HeadDim;
        var lengths = cache is null ? default : cache.SequenceLengths.Span;
        float top = 0;
        for (int b = 0; b < s.Batch; b++)
        {
            int length = lengths.IsEmpty ? s.KeyLength : lengths[b];
            for (int h = 0; h < s.KeyValueHeads; h++)
                for (int t = 0; t < length; t++)
                {
                    long row = cache is null ? rows.Row(b, h, t) : cache.RowOffset(b, h, t, s.KeyValueHeads, d, bs, settings.Format);
                    var values = new ReadOnlySpan<float>(x + row, d);
                    int bits = LargestMagnitudeBits(System.Runtime.InteropServices.MemoryMarshal.Cast<float, int>(values));
                    if (bits >= 0x7F800000)
                        foreach (float value in values)
                            if (!float.IsFinite(value))
                                throw new ArgumentException(
                                    $"{name} holds {value} at sequence {b}, K/V head {h}, token {t}; inputs must be finite " +
                                    "(set AttentionOptions.CheckFinite = false to skip this check).", name);
                    top = Math.Max(top, BitConverter.Int32BitsToSingle(bits));
                }
        }
        return top;
    }
}
