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
        // Contiguous runs: in BSHD a token's heads are adjacent, in BHSD a head's tokens.
        int run = Format == TensorFormat.Bshd ? count * Heads * HeadDim : count * HeadDim;
        int heads = Format == TensorFormat.Bshd ? 1 : Heads;
        for (int b = 0; b < Batch; b++)
        for (int h = 0; h < heads; h++)
            source.Slice(Offset(Format, Heads, sourceLength, HeadDim, b, h, from), run)
                .CopyTo(target.Slice(Offset(Format, Heads, targetLength, HeadDim, b, h, to), run));
    }

    /// <summary>Where row (b, h, t) of <paramref name="width"/> floats starts in a tensor of <paramref name="heads"/> heads and
    /// <paramref name="length"/> tokens.</summary>
    internal static int Offset(TensorFormat format, int heads, int length, int width, int b, int h, int t) => format == TensorFormat.Bshd
        ? ((b * length + t) * heads + h) * width
        : ((b * heads + h) * length + t) * width;

    /// <summary>Elements of a tensor of <paramref name="length"/> tokens.</summary>
    internal int Elements(int length) => checked(Batch * Heads * length * HeadDim);
}
