namespace SparseNative;

// Phi-3-small's "local + vertical stride" layout, as ONNX Runtime's SparseAttention test builds it (get_block_mask).
public static partial class BlockPatterns
{
    /// <summary>The block size Phi-3-small uses.</summary>
    public const int Phi3SmallBlockSize = 64;

    /// <summary>Phi-3-small's local window, in blocks.</summary>
    public const int Phi3SmallLocalBlocks = 16;

    /// <summary>Phi-3-small's vertical stride, in blocks.</summary>
    public const int Phi3SmallVerticalStride = 8;

    /// <summary>
    /// Local window plus vertical stride, one list per layout (Phi-3-small; ONNX Runtime's <c>num_layout</c>).
    /// List <c>h</c> attends block <c>(q, k)</c> exactly when
    /// <c>q ≥ k  and  (q − k &lt; localBlocks  or  (k + h·s + 1) mod verticalStride = 0)</c>, where
    /// <c>s = max(1, verticalStride / numLayouts)</c> (integer division): the last <paramref name="localBlocks"/> blocks,
    /// plus every <paramref name="verticalStride"/>-th earlier block, the stride column shifted by <c>s</c> from one list to the next.
    /// </summary>
    /// <remarks>The rule is lower-triangular per block and the layout is causal (<see cref="BlockLayout.IsCausal"/>), as ONNX
    /// Runtime's SparseAttention always is: the token mask applies inside the diagonal blocks.</remarks>
    /// <param name="sequenceLength">Tokens (≥ 1), queries and keys alike.</param>
    /// <param name="blockSize">16, 32, 64 or 128.</param>
    /// <param name="localBlocks">≥ 0; 0 keeps only the vertical stride columns.</param>
    /// <param name="verticalStride">≥ 1.</param>
    /// <param name="numLayouts">≥ 1: lists returned; query head <c>h</c> uses list <c>h % numLayouts</c>.</param>
    /// <returns><paramref name="numLayouts"/> causal lists.</returns>
    public static BlockLayout Strided(int sequenceLength, int blockSize, int localBlocks, int verticalStride, int numLayouts = 1)
    {
        int nb = CheckedBlocks(sequenceLength, nameof(sequenceLength), blockSize);
        CheckAtLeast(localBlocks, 0, nameof(localBlocks));
        CheckAtLeast(verticalStride, 1, nameof(verticalStride));
        CheckAtLeast(numLayouts, 1, nameof(numLayouts));
        long perRow = Math.Min(nb, (long)localBlocks + nb / verticalStride + 1);
        CheckFits((long)numLayouts * nb * perRow, nameof(sequenceLength), sequenceLength);
        long step = Math.Max(1, verticalStride / numLayouts);
        return BlockLayout.Build(blockSize, nb, nb, numLayouts, (h, q, row) =>
        {
            // Local part: q − localBlocks < k ≤ q.
            for (long k = Math.Max(0L, (long)q - localBlocks + 1); k <= q; k++) row.Add((int)k);
            // Vertical part: k ≡ −(h·s + 1) (mod verticalStride), k ≤ q. Repeats with the local part are dropped by Build.
            long first = ((-(h * step + 1)) % verticalStride + verticalStride) % verticalStride;
            for (long k = first; k <= q; k += verticalStride) row.Add((int)k);
        }, nameof(numLayouts)).WithCausal(true);
    }

    /// <summary>
    /// Phi-3-small's layout: <see cref="Strided"/> with block <see cref="Phi3SmallBlockSize"/> (64),
    /// <see cref="Phi3SmallLocalBlocks"/> (16) local blocks and vertical stride <see cref="Phi3SmallVerticalStride"/> (8).
    /// </summary>
    /// <param name="sequenceLength">Tokens (≥ 1).</param>
    /// <param name="numLayouts">≥ 1: lists returned (Phi-3-small's <c>num_layout</c>).</param>
    public static BlockLayout Phi3Small(int sequenceLength, int numLayouts = 1) =>
        Strided(sequenceLength, Phi3SmallBlockSize, Phi3SmallLocalBlocks, Phi3SmallVerticalStride, numLayouts);
}
