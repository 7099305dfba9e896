namespace SparseNative;

/// <summary>
/// How much work a sparse attention problem is: the (query, key) pairs it computes and the flops that implies.
/// Benchmarks report GFLOP/s as <see cref="Flops"/> / seconds, so every tool counts the same way.
/// </summary>
public static class AttentionCost
{
    /// <summary>
    /// Allowed (query, key) token pairs summed over batch and query heads: the layout's blocks clipped to the sequence
    /// tails and, when <paramref name="causal"/> or the layout is causal (<see cref="BlockLayout.IsCausal"/>, as
    /// <see cref="SparseAttention.Forward"/> applies it), to <c>j ≤ i + (KeyLength − QueryLength)</c>. Segment ids are not counted.
    /// </summary>
    public static long ActivePairs(AttentionShape shape, BlockLayout layout, bool causal)
    {
        shape.Validate(nameof(shape));
        ArgumentNullException.ThrowIfNull(layout);
        layout.ValidateFor(shape, nameof(layout));
        causal |= layout.IsCausal;
        int bs = layout.BlockSize, offset = shape.KeyLength - shape.QueryLength;
        var perList = new long[layout.LayoutCount];
        for (int l = 0; l < layout.LayoutCount; l++)
        {
            long pairs = 0;
            for (int r = 0; r < layout.QueryBlocks; r++)
            {
                int i0 = r * bs, i1 = Math.Min(i0 + bs, shape.QueryLength);
                foreach (int c in layout.Row(l, r))
                {
                    int j0 = c * bs, j1 = Math.Min(j0 + bs, shape.KeyLength);
                    if (!causal) { pairs += (long)(i1 - i0) * (j1 - j0); continue; }
                    // Query i sees keys j < min(j1, i + offset + 1) and ≥ j0.
                    for (int i = i0; i < i1; i++)
                        pairs += Math.Max(0, Math.Min(j1, i + offset + 1) - j0);
                }
            }
            perList[l] = pairs;
        }
        long total = 0;
        for (int h = 0; h < shape.QueryHeads; h++) total += perList[layout.ListForHead(h)];
        return total * shape.Batch;
    }

    /// <summary>Floating-point operations: 4·HeadDim per allowed pair (2·d for QKᵀ, 2·d for P·V), the usual attention count;
    /// causal as in <see cref="ActivePairs"/>.</summary>
    public static double Flops(AttentionShape shape, BlockLayout layout, bool causal) =>
        4.0 * shape.HeadDim * ActivePairs(shape, layout, causal);

    /// <summary>The allowed pairs of dense attention on the same shape (all pairs, or the causal triangle).</summary>
    public static long DensePairs(AttentionShape shape, bool causal)
    {
        long perHead = 0;
        int offset = shape.KeyLength - shape.QueryLength;
        if (!causal) perHead = (long)shape.QueryLength * shape.KeyLength;
        else
            for (int i = 0; i < shape.QueryLength; i++)
                perHead += Math.Clamp(i + offset + 1, 0, shape.KeyLength);
        return perHead * shape.QueryHeads * shape.Batch;
    }
}
