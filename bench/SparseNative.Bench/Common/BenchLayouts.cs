namespace SparseNative.Bench.Common;

/// <summary>
/// The layouts the benchmarks use, built here from their definitions with the library's CSR constructors, so the
/// benchmarks depend on nothing but the public <see cref="BlockLayout"/> API (and stay valid whatever pattern helpers exist).
/// </summary>
internal static class BenchLayouts
{
    /// <summary>Every key block for every query block.</summary>
    public static BlockLayout Dense(int blockSize, int queryBlocks, int keyBlocks) =>
        BlockLayout.FromPredicate(blockSize, queryBlocks, keyBlocks, 1, (_, _, _) => true);

    /// <summary>The blocks on or below the diagonal: with a causal token mask, the same pairs as dense causal attention.</summary>
    public static BlockLayout LowerTriangle(int blockSize, int blocks) =>
        BlockLayout.FromPredicate(blockSize, blocks, blocks, 1, (_, r, c) => c <= r);

    /// <summary>
    /// A causal sliding window of <paramref name="window"/> blocks: row r holds key blocks r − window + 1 … r. Built row
    /// by row straight into CSR arrays, so a 1M-token layout costs O(rows), never the block grid.
    /// </summary>
    public static BlockLayout LocalWindow(int blockSize, int blocks, int window)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(window, 1);
        var offsets = new int[blocks + 1];
        var columns = new List<int>(blocks * window);
        for (int r = 0; r < blocks; r++)
        {
            for (int c = Math.Max(0, r - window + 1); c <= r; c++) columns.Add(c);
            offsets[r + 1] = columns.Count;
        }
        return BlockLayout.FromCsr(blockSize, blocks, blocks, offsets, columns.ToArray());
    }

    /// <summary>
    /// BigBird-like, one list per head: a sliding window of ±1 block, global block 0 (row and column) and
    /// <paramref name="randomPerRow"/> random key blocks per row drawn from a fixed seed (≈ 10% of 64×64 with 3).
    /// </summary>
    public static BlockLayout BigBirdLike(int blockSize, int blocks, int heads, int randomPerRow = 3, int seed = 12345)
    {
        var rng = new Random(seed);
        var picks = new bool[heads, blocks, blocks];
        for (int h = 0; h < heads; h++)
            for (int r = 0; r < blocks; r++)
            {
                for (int c = Math.Max(0, r - 1); c <= Math.Min(blocks - 1, r + 1); c++) picks[h, r, c] = true;
                picks[h, r, 0] = true;
                if (r == 0) for (int c = 0; c < blocks; c++) picks[h, r, c] = true;
                for (int k = 0; k < randomPerRow; k++) picks[h, r, rng.Next(blocks)] = true;
            }
        return BlockLayout.FromDense(picks, blockSize);
    }

    /// <summary>
    /// ONNX Runtime's Phi-3-small layout in its own CSR form (<c>block_row_indices [L, blocks + 1]</c>,
    /// <c>block_col_indices [L, maxNnz]</c> padded with −1), from the formula of its test suite:
    /// list h keeps block (q, k) when <c>q ≥ k</c> and (<c>q − k &lt; local</c> or
    /// <c>(k + h·max(1, stride / L) + 1) % stride == 0</c>).
    /// </summary>
    public static (int[] RowIndices, int[] ColIndices, int MaxNnz) Phi3SmallCsr(int blocks, int layouts, int local, int verticalStride)
    {
        var rows = new int[layouts * (blocks + 1)];
        var perList = new List<int>[layouts];
        int shift = Math.Max(1, verticalStride / layouts);
        for (int h = 0; h < layouts; h++)
        {
            perList[h] = [];
            for (int q = 0; q < blocks; q++)
            {
                for (int k = 0; k <= q; k++)
                    if (q - k < local || (k + h * shift + 1) % verticalStride == 0) perList[h].Add(k);
                rows[h * (blocks + 1) + q + 1] = perList[h].Count;
            }
        }
        int maxNnz = perList.Max(l => l.Count);
        var cols = new int[layouts * maxNnz];
        Array.Fill(cols, -1);
        for (int h = 0; h < layouts; h++) perList[h].CopyTo(cols, h * maxNnz);
        return (rows, cols, maxNnz);
    }

    /// <summary>Our layout from ONNX Runtime's padded CSR arrays: each list's first <c>nnz</c> columns, concatenated.</summary>
    public static BlockLayout FromOnnxRuntimeCsr(int blockSize, int blocks, int layouts, int[] rowIndices, int[] colIndices, int maxNnz)
    {
        var columns = new List<int>();
        for (int h = 0; h < layouts; h++)
        {
            int nnz = rowIndices[h * (blocks + 1) + blocks];
            columns.AddRange(colIndices.AsSpan(h * maxNnz, nnz));
        }
        return BlockLayout.FromCsr(blockSize, blocks, blocks, rowIndices, columns.ToArray(), layouts);
    }
}
