namespace SparseNative;

/// <summary>
/// Swin Transformer window attention for tokens on an H × W grid (row-major, token <c>y · W + x</c>), expressed as one
/// block-sparse call (see <see cref="WindowPartition"/>).
/// </summary>
/// <remarks>
/// <para>Windows tile the grid from the top-left corner in w × w squares. When H or W is not a multiple of w nothing is padded:
/// the windows along the bottom and right borders are smaller (e.g. 7 × 3). Swin itself pads to a multiple of w and masks
/// nothing in the padding, so its border windows see padded zeros in the softmax; ours see only real tokens.</para>
/// <para>Inside a window tokens are ordered by region, then row, then column, so each attention group is contiguous and most
/// blocks need no token-level masking.</para>
/// </remarks>
public static class SwinWindows
{
    /// <summary>Plain window partition: two tokens attend to each other iff they are in the same window.</summary>
    /// <param name="height">Grid rows H (≥ 1).</param>
    /// <param name="width">Grid columns W (≥ 1).</param>
    /// <param name="window">Window side w (≥ 1).</param>
    /// <param name="blockSize">Block size of the layout: 16, 32, 64 or 128.</param>
    public static WindowPartition Partition(int height, int width, int window, int blockSize) =>
        Build(height, width, window, 0, blockSize);

    /// <summary>
    /// Shifted windows (Swin's SW-MSA). The grid is cyclically shifted up and left by s — shifted position
    /// <c>(y', x') = ((y − s) mod H, (x − s) mod W)</c> — and partitioned into windows as in <see cref="Partition"/>. Tokens that
    /// wrapped around (<c>y' ≥ H − s</c>, or <c>x' ≥ W − s</c>) came from the opposite border, so two tokens attend to each other
    /// iff they share a shifted window and, along each axis, both wrapped or neither did. When H and W are multiples of w this
    /// is exactly Swin's mask built from the regions <c>[0, H−w)</c>, <c>[H−w, H−s)</c>, <c>[H−s, H)</c> of each axis.
    /// </summary>
    /// <param name="height">Grid rows H (≥ 1).</param>
    /// <param name="width">Grid columns W (≥ 1).</param>
    /// <param name="window">Window side w (≥ 1).</param>
    /// <param name="shift">Shift s with <c>0 ≤ s &lt; w</c> and <c>s &lt; min(H, W)</c>; Swin uses <c>w / 2</c>. 0 gives <see cref="Partition"/>.</param>
    /// <param name="blockSize">Block size of the layout: 16, 32, 64 or 128.</param>
    public static WindowPartition Shifted(int height, int width, int window, int shift, int blockSize) =>
        Build(height, width, window, shift, blockSize);

    private static WindowPartition Build(int height, int width, int window, int shift, int blockSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(window);
        BlockLayout.ValidateBlockSize(blockSize, nameof(blockSize));
        if ((long)height * width > 1 << 30)
            throw new ArgumentException($"A {height}×{width} grid has more than 2^30 tokens.", nameof(height));
        if (shift < 0 || shift >= window || shift >= Math.Min(height, width) && shift != 0)
            throw new ArgumentOutOfRangeException(nameof(shift), shift,
                $"shift must be in [0, min(window, height, width)) = [0, {Math.Min(window, Math.Min(height, width))}).");

        int windowsX = (width + window - 1) / window, windowsY = (height + window - 1) / window;
        int n = height * width;
        // Sort key per token: window, region (2 bits: wrapped along y, along x), shifted row, shifted column.
        var keys = new long[n];
        var order = new int[n];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int ys = Mod(y - shift, height), xs = Mod(x - shift, width);
                int win = ys / window * windowsX + xs / window;
                int region = (shift > 0 && ys >= height - shift ? 2 : 0) | (shift > 0 && xs >= width - shift ? 1 : 0);
                int t = y * width + x;
                keys[t] = (((long)win * 4 + region) * height + ys) * width + xs;
                order[t] = t;
            }
        Array.Sort(keys, order);
        var segments = new int[n];
        for (int p = 0; p < n; p++) segments[p] = (int)(keys[p] / ((long)height * width)); // window · 4 + region
        return new WindowPartition(height, width, window, shift, windowsX * windowsY, order, segments, blockSize);
    }

    private static int Mod(int a, int m) => ((a % m) + m) % m;
}
