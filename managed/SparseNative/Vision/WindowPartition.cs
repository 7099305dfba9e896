namespace SparseNative;

/// <summary>
/// Window attention over an image grid as one block-sparse call: a token order that puts each window's tokens next to each
/// other, its inverse, the segment ids that keep windows (and shifted-window regions) apart, and the layout they imply.
/// Made by <see cref="SwinWindows.Partition"/> and <see cref="SwinWindows.Shifted"/>.
/// </summary>
/// <remarks>
/// Recipe (tokens in <see cref="TensorFormat.Bshd"/>, so a token's heads are contiguous): <see cref="Permute"/> Q, K and V
/// with <c>featuresPerToken = heads · HeadDim</c>; call <see cref="SparseAttention.Forward"/> with
/// <c>AttentionShape(batch, Hq, Hkv, TokenCount, TokenCount, d)</c>, <see cref="Layout"/>,
/// <c>Format = Bshd</c> and <see cref="SegmentIds"/> as both query and key segment ids (repeated per batch row);
/// <see cref="Unpermute"/> the output. The cyclic shift of the shifted variant is folded into the permutation: no roll
/// and no reverse roll are needed, and the output comes back in the original token positions.
/// </remarks>
public sealed class WindowPartition
{
    /// <summary>Grid rows.</summary>
    public int Height { get; }

    /// <summary>Grid columns.</summary>
    public int Width { get; }

    /// <summary>Window side w (windows are w × w, smaller at the bottom and right borders).</summary>
    public int Window { get; }

    /// <summary>Cyclic shift s (0 for the plain partition).</summary>
    public int Shift { get; }

    /// <summary>Tokens, <c>Height · Width</c>.</summary>
    public int TokenCount => Height * Width;

    /// <summary>Windows, <c>ceil(H / w) · ceil(W / w)</c>.</summary>
    public int WindowCount { get; }

    /// <summary><c>Permutation[p]</c> is the row-major grid index <c>y · Width + x</c> of the token placed at position <c>p</c>.</summary>
    public ReadOnlyMemory<int> Permutation => _permutation;

    /// <summary><c>InversePermutation[t]</c> is the position of grid token <c>t</c> after permutation.</summary>
    public ReadOnlyMemory<int> InversePermutation => _inverse;

    /// <summary>Per permuted position: equal ids ⇔ the two tokens may attend to each other. Pass it as both
    /// <see cref="AttentionOptions.QuerySegmentIds"/> and <see cref="AttentionOptions.KeySegmentIds"/> (one image; repeat it per
    /// batch row for several).</summary>
    public ReadOnlyMemory<int> SegmentIds => _segments;

    /// <summary>The one-list layout the segment ids imply (non-causal), over the permuted tokens.</summary>
    public BlockLayout Layout { get; }

    private readonly int[] _permutation, _inverse, _segments;

    internal WindowPartition(int height, int width, int window, int shift, int windowCount, int[] permutation, int[] segmentIds,
        int blockSize)
    {
        Height = height; Width = width; Window = window; Shift = shift; WindowCount = windowCount;
        _permutation = permutation;
        _segments = segmentIds;
        _inverse = new int[permutation.Length];
        for (int p = 0; p < permutation.Length; p++) _inverse[permutation[p]] = p;
        Layout = SegmentLayout.FromSegmentIds(segmentIds, segmentIds, 1, segmentIds.Length, segmentIds.Length, blockSize, causal: false);
    }

    /// <summary>
    /// <c>permuted[p] = tokens[Permutation[p]]</c> for each of <paramref name="batch"/> rows of <see cref="TokenCount"/> tokens of
    /// <paramref name="featuresPerToken"/> floats (BSHD Q/K/V: <c>heads · HeadDim</c>).
    /// </summary>
    public void Permute(ReadOnlySpan<float> tokens, Span<float> permuted, int featuresPerToken, int batch = 1) =>
        Gather(tokens, permuted, featuresPerToken, batch, _permutation, nameof(tokens), nameof(permuted));

    /// <summary>The inverse of <see cref="Permute"/>: <c>tokens[t] = permuted[InversePermutation[t]]</c>.</summary>
    public void Unpermute(ReadOnlySpan<float> permuted, Span<float> tokens, int featuresPerToken, int batch = 1) =>
        Gather(permuted, tokens, featuresPerToken, batch, _inverse, nameof(permuted), nameof(tokens));

    private void Gather(ReadOnlySpan<float> source, Span<float> destination, int features, int batch, int[] from,
        string sourceName, string destinationName)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(features);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        long needed = (long)batch * TokenCount * features;
        if (source.Length != needed)
            throw new ArgumentException($"{sourceName} has {source.Length} floats; batch·TokenCount·features = {needed}.", sourceName);
        if (destination.Length != needed)
            throw new ArgumentException($"{destinationName} has {destination.Length} floats; batch·TokenCount·features = {needed}.", destinationName);
        if (source.Overlaps(destination))
            throw new ArgumentException($"{destinationName} overlaps {sourceName}; a permutation cannot run in place.", destinationName);
        for (int b = 0; b < batch; b++)
        {
            int row = b * TokenCount;
            for (int p = 0; p < TokenCount; p++)
                source.Slice((row + from[p]) * features, features).CopyTo(destination.Slice((row + p) * features, features));
        }
    }
}
