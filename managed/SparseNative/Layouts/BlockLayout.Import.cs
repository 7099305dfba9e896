namespace SparseNative;

// Conversions to and from the layout arrays of DeepSpeed (dense 0/1 tensors) and ONNX Runtime SparseAttention (padded CSR).
public sealed partial class BlockLayout
{
    /// <summary>
    /// Reads a DeepSpeed layout: an int tensor <c>(numHeads, numBlocks, numBlocks)</c>, row-major, 1 = compute the block,
    /// 0 = skip it (what <c>SparsityConfig.make_layout</c> returns). Gives one list per head, not causal: the tensor does not
    /// say whether the config was unidirectional, so call <see cref="WithCausal"/>(true) on a unidirectional one.
    /// </summary>
    /// <param name="layout"><c>numHeads · numBlocks · numBlocks</c> values, each 0 or 1.</param>
    /// <param name="numHeads">≥ 1.</param>
    /// <param name="numBlocks">≥ 1: query and key blocks.</param>
    /// <param name="blockSize">16, 32, 64 or 128.</param>
    /// <exception cref="InvalidLayoutException">Wrong length, or a value other than 0 and 1 (the message gives its index and value).</exception>
    public static BlockLayout FromDeepSpeed(ReadOnlySpan<int> layout, int numHeads, int numBlocks, int blockSize)
    {
        ValidateBlockSize(blockSize, nameof(blockSize));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numHeads);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numBlocks);
        // 128-bit: heads × blocks² can pass 2⁶⁴ and wrap to a length that matches (0 for 65536 heads of 2³⁰ blocks).
        Int128 expected = (Int128)numHeads * numBlocks * numBlocks;
        if (layout.Length != expected)
            throw new InvalidLayoutException(
                $"layout has {layout.Length} values; ({numHeads} heads, {numBlocks}, {numBlocks}) needs {expected}.", nameof(layout));
        for (int i = 0; i < layout.Length; i++)
            if (layout[i] is not (0 or 1))
                throw new InvalidLayoutException(
                    $"layout[{i}] (head {i / numBlocks / numBlocks}, row {i / numBlocks % numBlocks}, column {i % numBlocks}) = {layout[i]}; only 0 and 1 are allowed.",
                    nameof(layout));

        // Build takes a delegate, which cannot capture a span: copy once (the values are needed row by row anyway).
        int[] values = layout.ToArray();
        return Build(blockSize, numBlocks, numBlocks, numHeads, (h, r, row) =>
        {
            int at = (h * numBlocks + r) * numBlocks;
            for (int c = 0; c < numBlocks; c++) if (values[at + c] == 1) row.Add(c);
        }, nameof(numHeads));
    }

    /// <summary>
    /// The layout as DeepSpeed's int tensor <c>(heads, QueryBlocks, KeyBlocks)</c>, row-major, 1 = active; head <c>h</c> gets
    /// list <c>h % LayoutCount</c>. DeepSpeed's layouts are square (QueryBlocks = KeyBlocks).
    /// </summary>
    /// <param name="heads">≥ 1, a multiple of <see cref="LayoutCount"/>.</param>
    /// <exception cref="InvalidLayoutException"><paramref name="heads"/> is not a multiple of <see cref="LayoutCount"/>, or the tensor would not fit in an array.</exception>
    public int[] ToDeepSpeed(int heads)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(heads);
        if (heads % LayoutCount != 0)
            throw new InvalidLayoutException($"heads = {heads} is not a multiple of the layout's {LayoutCount} lists.", nameof(heads));
        long cells = (long)heads * QueryBlocks * KeyBlocks;
        if (cells > Array.MaxLength)
            throw new InvalidLayoutException(
                $"heads = {heads}: a ({heads}, {QueryBlocks}, {KeyBlocks}) tensor has {cells} values, more than one array holds.", nameof(heads));
        var dense = new int[cells];
        for (int h = 0; h < heads; h++)
            for (int r = 0; r < QueryBlocks; r++)
            {
                long at = ((long)h * QueryBlocks + r) * KeyBlocks;
                foreach (int c in Row(ListForHead(h), r)) dense[at + c] = 1;
            }
        return dense;
    }

    /// <summary>
    /// Reads ONNX Runtime SparseAttention's layout inputs: <c>block_row_indices</c> <c>(numLayouts, max_blocks + 1)</c> and
    /// <c>block_col_indices</c> <c>(numLayouts, max_nnz)</c>, int32, row-major. Each layout is a CSR matrix of
    /// <c>max_blocks × max_blocks</c> blocks whose columns are padded with −1 after its last entry. Gives
    /// <paramref name="numLayouts"/> lists (head h uses h % numLayouts, as in ONNX Runtime)
    /// of max_blocks × max_blocks blocks; <see cref="Crop"/> cuts them to a shorter sequence.
    /// </summary>
    /// <remarks>
    /// Checked: both lengths divide by <paramref name="numLayouts"/>; max_blocks ≥ 1; every layout's offsets start at 0, never decrease
    /// and end at most at max_nnz; its columns lie in <c>[0, max_blocks)</c> and strictly increase within a row; every entry
    /// after its offsets' end is −1.
    /// </remarks>
    /// <param name="blockRowIndices">ONNX Runtime's <c>block_row_indices</c>.</param>
    /// <param name="blockColIndices">ONNX Runtime's <c>block_col_indices</c>.</param>
    /// <param name="numLayouts">≥ 1: ONNX Runtime's <c>num_layout</c>.</param>
    /// <param name="blockSize">16, 32, 64 or 128.</param>
    /// <param name="causal">The result's <see cref="IsCausal"/>. ONNX Runtime's SparseAttention always masks causally, so the
    /// default (true) computes what ONNX Runtime computes; pass false to use the blocks without the token causal mask.</param>
    /// <exception cref="InvalidLayoutException">One of the checks fails; the message names the argument, the index and the value.</exception>
    public static BlockLayout FromOnnxRuntime(ReadOnlySpan<int> blockRowIndices, ReadOnlySpan<int> blockColIndices, int numLayouts, int blockSize,
        bool causal = true)
    {
        ValidateBlockSize(blockSize, nameof(blockSize));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numLayouts);
        if (blockRowIndices.Length % numLayouts != 0 || blockRowIndices.Length / numLayouts < 2)
            throw new InvalidLayoutException(
                $"blockRowIndices has {blockRowIndices.Length} values; it must be numLayouts ({numLayouts}) × (max_blocks + 1) with max_blocks ≥ 1.",
                nameof(blockRowIndices));
        if (blockColIndices.Length % numLayouts != 0)
            throw new InvalidLayoutException(
                $"blockColIndices has {blockColIndices.Length} values, not a multiple of numLayouts ({numLayouts}).", nameof(blockColIndices));
        int stride = blockRowIndices.Length / numLayouts, blocks = stride - 1, maxNnz = blockColIndices.Length / numLayouts;

        var offsets = new int[blockRowIndices.Length];
        var columns = new List<int>();
        for (int l = 0; l < numLayouts; l++)
        {
            var rows = blockRowIndices.Slice(l * stride, stride);
            var cols = blockColIndices.Slice(l * maxNnz, maxNnz);
            if (rows[0] != 0)
                throw new InvalidLayoutException(
                    $"blockRowIndices[{l * stride}] (start of layout {l}) = {rows[0]}; it must be 0.", nameof(blockRowIndices));
            for (int r = 0; r < blocks; r++)
                if (rows[r + 1] < rows[r])
                    throw new InvalidLayoutException(
                        $"blockRowIndices[{l * stride + r + 1}] = {rows[r + 1]} is less than the previous offset {rows[r]} (layout {l}, row {r}).",
                        nameof(blockRowIndices));
            if (rows[blocks] > maxNnz)
                throw new InvalidLayoutException(
                    $"blockRowIndices[{l * stride + blocks}] = {rows[blocks]} (end of layout {l}) exceeds max_nnz = {maxNnz}.", nameof(blockRowIndices));
            for (int r = 0; r < blocks; r++)
            {
                int prev = -1;
                for (int p = rows[r]; p < rows[r + 1]; p++)
                {
                    int c = cols[p];
                    if ((uint)c >= (uint)blocks)
                        throw new InvalidLayoutException(
                            $"blockColIndices[{l * maxNnz + p}] = {c} (layout {l}, row {r}) is outside [0, {blocks}).", nameof(blockColIndices));
                    if (c <= prev)
                        throw new InvalidLayoutException(
                            $"blockColIndices[{l * maxNnz + p}] = {c} follows {prev} in layout {l}, row {r}; columns must strictly increase ({(c == prev ? "duplicate" : "unsorted")}).",
                            nameof(blockColIndices));
                    prev = c;
                    columns.Add(c);
                }
                offsets[l * stride + r + 1] = rows[r + 1];
            }
            for (int p = rows[blocks]; p < maxNnz; p++)
                if (cols[p] != -1)
                    throw new InvalidLayoutException(
                        $"blockColIndices[{l * maxNnz + p}] = {cols[p]} lies in the padding of layout {l} (after its {rows[blocks]} entries); padding must be -1.",
                        nameof(blockColIndices));
        }
        return new BlockLayout(blockSize, blocks, blocks, numLayouts, offsets, columns.ToArray(), causal);
    }

    /// <summary>
    /// The layout as ONNX Runtime SparseAttention's inputs: <c>RowIndices</c> <c>(LayoutCount, QueryBlocks + 1)</c> CSR offsets
    /// and <c>ColIndices</c> <c>(LayoutCount, MaxNnz)</c>, each layout's columns padded with −1; <c>MaxNnz</c> is the largest
    /// list's active block count. ONNX Runtime's layouts are square.
    /// </summary>
    /// <exception cref="InvalidOperationException">QueryBlocks ≠ KeyBlocks, or the padded columns would not fit in an array.</exception>
    public (int[] RowIndices, int[] ColIndices, int MaxNnz) ToOnnxRuntime()
    {
        if (QueryBlocks != KeyBlocks)
            throw new InvalidOperationException(
                $"ONNX Runtime layouts are square; this one is {QueryBlocks}×{KeyBlocks} blocks.");
        int maxNnz = 0;
        for (int l = 0; l < LayoutCount; l++) maxNnz = Math.Max(maxNnz, ActiveBlocksInList(l));
        long padded = (long)LayoutCount * maxNnz;
        if (padded > Array.MaxLength)
            throw new InvalidOperationException($"{LayoutCount} layouts padded to {maxNnz} columns need {padded} values, more than one array holds.");
        var cols = new int[padded];
        Array.Fill(cols, -1);
        for (int l = 0; l < LayoutCount; l++) ColumnIndices(l).CopyTo(cols.AsSpan(l * maxNnz));
        return (_rowOffsets.ToArray(), cols, maxNnz);
    }
}
