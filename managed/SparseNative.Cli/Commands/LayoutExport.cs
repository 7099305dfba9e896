namespace SparseNative.Cli.Commands;

/// <summary>
/// A layout in the forms other tools read: DeepSpeed's <c>(heads, blocks, blocks)</c> 0/1 tensor (int64, what DeepSpeed's
/// torch layout gives through <c>.numpy()</c>), ONNX Runtime's <c>block_row_indices</c> / <c>block_col_indices</c> pair
/// (int32, ONNX Runtime's input type), and a JSON document with the CSR lists. What <c>layout --from</c> / <c>--from-ort</c> read.
/// </summary>
internal static class LayoutExport
{
    /// <summary>Writes the DeepSpeed tensor for <paramref name="heads"/> heads (head h uses list h % lists).</summary>
    public static void WriteDeepSpeed(string path, BlockLayout layout, int heads)
    {
        var dense = layout.ToDeepSpeed(heads);
        var wide = new long[dense.Length];
        for (int i = 0; i < dense.Length; i++) wide[i] = dense[i];
        Npy.Npy.Write(path, wide, [heads, layout.QueryBlocks, layout.KeyBlocks]);
    }

    /// <summary>Writes ONNX Runtime's two arrays: <c>(lists, blocks + 1)</c> offsets and <c>(lists, max_nnz)</c> columns padded with −1.</summary>
    public static void WriteOnnxRuntime(string rowsPath, string colsPath, BlockLayout layout)
    {
        var (rows, cols, maxNnz) = layout.ToOnnxRuntime();
        Npy.Npy.Write(rowsPath, rows, [layout.LayoutCount, layout.QueryBlocks + 1]);
        Npy.Npy.Write(colsPath, cols, [layout.LayoutCount, maxNnz]);
    }

    /// <summary>The layout as the <c>layout --json</c> document describes it.</summary>
    public static LayoutDocument Document(string label, int length, int heads, BlockLayout layout, bool isCausal, LayoutStats stats) => new(
        label, length, heads, isCausal, stats,
        Enumerable.Range(0, layout.LayoutCount).Select(l => new LayoutList(layout.RowOffsets(l).ToArray(), layout.ColumnIndices(l).ToArray())).ToArray());
}

/// <summary>The <c>layout --json</c> document (fields in docs/CLI.md).</summary>
/// <param name="Layout">The pattern name or the file it came from.</param>
/// <param name="Tokens">Sequence length the layout was built for.</param>
/// <param name="Heads">Query heads (head h uses list h % lists).</param>
/// <param name="IsCausal">Whether attention with this layout is causal (token-level mask inside the diagonal blocks).</param>
/// <param name="Stats">What the table shows: block size, block counts, lists, active blocks, density, per-row counts, flops.</param>
/// <param name="Csr">Each list: <c>rowOffsets</c> (QueryBlocks + 1) and <c>columns</c>, sorted within each row.</param>
internal sealed record LayoutDocument(string Layout, int Tokens, int Heads, bool IsCausal, LayoutStats Stats, LayoutList[] Csr);

/// <summary>One list of a layout: row r's active key blocks are <c>Columns[RowOffsets[r] .. RowOffsets[r + 1]]</c>.</summary>
internal sealed record LayoutList(int[] RowOffsets, int[] Columns);
