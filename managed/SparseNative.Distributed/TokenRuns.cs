namespace SparseNative.Distributed;

/// <summary>
/// Copies runs of tokens between two tensors of the same batch, heads and head dimension but different sequence
/// lengths, in either memory format (docs/SEMANTICS.md: BHSD row <c>(b·H + h)·L + t</c>, BSHD row <c>(b·L + t)·H + h</c>).
/// This is how key/value blocks are packed for sending and how shards are put together and taken apart.
/// </summary>
internal readonly record struct TokenRuns(int Batch, int Heads, int HeadDim, TensorFormat Format)
{
    /// <summary>Copies <paramref name="count"/> tokens from token <paramref name="from"/> of <paramref name="source"/> (length
    /// <paramref name="sourceLength"/>) to token <paramref name="to"/> of <paramref name="target"/> (length <paramref name="targetLength"/>).</summary>
    internal void Copy(ReadOnlySpan<float> source, int sourceLength, int from, Span<float> target, int targetLength, int to, int count)
    {
        int d = HeadDim;
        if (Format == TensorFormat.Bshd)
        {
            int row = Heads * d; // a token's heads are adjacent
            for (int b = 0; b < Batch; b++)
                source.Slice(((b * sourceLength) + from) * row, count * row)
                    .CopyTo(target.Slice(((b * targetLength) + to) * row, count * row));
            return;
        }
        for (int b = 0; b < Batch; b++)
        for (int h = 0; h < Heads; h++)
        {
            int bh = b * Heads + h;
            source.Slice((bh * sourceLength + from) * d, count * d).CopyTo(target.Slice((bh * targetLength + to) * d, count * d));
        }
    }

    /// <summary>Elements of a tensor of <paramref name="length"/> tokens.</summary>
    internal int Elements(int length) => checked(Batch * Heads * length * HeadDim);
}
