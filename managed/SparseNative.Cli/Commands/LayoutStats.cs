namespace SparseNative.Cli.Commands;

/// <summary>
/// The numbers <c>sparsenative layout</c> prints: active blocks, density, active blocks per query-block row (over every list),
/// and the work against dense attention on the same shape counted by <see cref="AttentionCost"/> (token tails and causal mask included).
/// </summary>
internal sealed record LayoutStats(
    int BlockSize, int QueryBlocks, int KeyBlocks, int Lists, long ActiveBlocks, double Density,
    int RowMin, double RowMean, int RowMax, int EmptyRows, double Flops, double DenseFlops)
{
    /// <summary>Flops of the layout over flops of dense attention on the same shape and mask.</summary>
    public double FlopsFraction => DenseFlops > 0 ? Flops / DenseFlops : 0;

    public static LayoutStats Compute(BlockLayout layout, AttentionShape shape, bool causal)
    {
        int min = int.MaxValue, max = 0, empty = 0;
        long sum = 0;
        for (int l = 0; l < layout.LayoutCount; l++)
            for (int r = 0; r < layout.QueryBlocks; r++)
            {
                int n = layout.Row(l, r).Length;
                min = Math.Min(min, n);
                max = Math.Max(max, n);
                sum += n;
                if (n == 0) empty++;
            }
        long rows = (long)layout.LayoutCount * layout.QueryBlocks;
        double flops = AttentionCost.Flops(shape, layout, causal);
        double dense = 4.0 * shape.HeadDim * AttentionCost.DensePairs(shape, causal);
        return new LayoutStats(layout.BlockSize, layout.QueryBlocks, layout.KeyBlocks, layout.LayoutCount, layout.ActiveBlocks,
            layout.Density, min, (double)sum / rows, max, empty, flops, dense);
    }
}
