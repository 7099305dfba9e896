using Xunit;
using static SparseNative.Tests.PatternsGrid;

namespace SparseNative.Tests;

/// <summary>DeepSpeed and ONNX Runtime layout arrays: hand-checked imports, exports, round trips and every malformed case.</summary>
public class LayoutImportTests
{
    // ---- DeepSpeed: int tensor (heads, nb, nb) of 0/1 ----

    [Fact]
    public void FromDeepSpeed_hand_checked()
    {
        // Head 0: [[1, 0], [1, 1]]; head 1: [[0, 1], [1, 0]].
        var layout = BlockLayout.FromDeepSpeed([1, 0, 1, 1, 0, 1, 1, 0], 2, 2, 32);
        Assert.Equal(2, layout.LayoutCount);
        Assert.Equal(32, layout.BlockSize);
        AssertPicture(layout, 0, "#.", "##");
        AssertPicture(layout, 1, ".#", "#.");
    }

    [Fact]
    public void ToDeepSpeed_hand_checked_and_expands_lists()
    {
        var layout = BlockLayout.FromCsr(16, 2, 2, [0, 1, 3], [0, 0, 1]);   // [[1, 0], [1, 1]], one list
        Assert.Equal([1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1], layout.ToDeepSpeed(3));
        var twoLists = BlockLayout.FromDeepSpeed([1, 0, 1, 1, 0, 1, 1, 0], 2, 2, 16);
        Assert.Equal([1, 0, 1, 1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 1, 0], twoLists.ToDeepSpeed(4));
        Assert.Equal("heads", Assert.Throws<InvalidLayoutException>(() => twoLists.ToDeepSpeed(3)).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => twoLists.ToDeepSpeed(0));
    }

    [Fact]
    public void DeepSpeed_round_trips()
    {
        foreach (var layout in new[] { BlockPatterns.Fixed(333, 16, 4, 2, numDifferentGlobalPatterns: 2, heads: 4),
                     BlockPatterns.BigBird(200, 16, 2, heads: 3, seed: 9), TestData.RandomLayout(16, 5, 5, 2, 0.4, 3) })
        {
            var dense = layout.ToDeepSpeed(layout.LayoutCount);
            Assert.Equal(layout, BlockLayout.FromDeepSpeed(dense, layout.LayoutCount, layout.QueryBlocks, layout.BlockSize));
            Assert.Equal(dense, BlockLayout.FromDeepSpeed(dense, layout.LayoutCount, layout.QueryBlocks, 16).ToDeepSpeed(layout.LayoutCount));
        }
    }

    [Theory]
    [InlineData(new[] { 1, 0, 1 }, 1, 2, "4")]            // too short: 1 × 2 × 2 = 4 values needed
    [InlineData(new[] { 1, 0, 1, 1, 0 }, 1, 2, "4")]      // too long
    [InlineData(new[] { 1, 0, 2, 1 }, 1, 2, "layout[2]")] // a value other than 0/1, with its index
    [InlineData(new[] { 1, 0, 1, -1 }, 1, 2, "= -1")]
    public void FromDeepSpeed_rejects_malformed_layouts(int[] values, int heads, int nb, string quoted)
    {
        var ex = Assert.Throws<InvalidLayoutException>(() => BlockLayout.FromDeepSpeed(values, heads, nb, 16));
        Assert.Equal("layout", ex.ParamName);
        Assert.Contains(quoted, ex.Message);
    }

    [Fact]
    public void FromDeepSpeed_rejects_bad_sizes()
    {
        Assert.Equal("numHeads", Assert.ThrowsAny<ArgumentException>(() => BlockLayout.FromDeepSpeed([1], 0, 1, 16)).ParamName);
        Assert.Equal("numBlocks", Assert.ThrowsAny<ArgumentException>(() => BlockLayout.FromDeepSpeed([1], 1, 0, 16)).ParamName);
        Assert.Equal("blockSize", Assert.ThrowsAny<ArgumentException>(() => BlockLayout.FromDeepSpeed([1], 1, 1, 20)).ParamName);
    }

    // ---- ONNX Runtime: block_row_indices (num_layout, max_blocks + 1), block_col_indices (num_layout, max_nnz) padded with −1 ----

    // Two 3 × 3 layouts. Layout 0: row 0 {0}, row 1 {0, 1}, row 2 {1, 2} (5 entries); layout 1: row 0 {0}, row 1 {}, row 2 {0, 2} (3 entries).
    private static readonly int[] OrtRows = [0, 1, 3, 5, 0, 1, 1, 3];
    private static readonly int[] OrtCols = [0, 0, 1, 1, 2, 0, 0, 2, -1, -1];

    [Fact]
    public void FromOnnxRuntime_hand_checked()
    {
        var layout = BlockLayout.FromOnnxRuntime(OrtRows, OrtCols, 2, 64);
        Assert.Equal(2, layout.LayoutCount);
        Assert.Equal(3, layout.QueryBlocks);
        Assert.Equal(3, layout.KeyBlocks);
        AssertPicture(layout, 0, "#..", "##.", ".##");
        AssertPicture(layout, 1, "#..", "...", "#.#");
    }

    [Fact]
    public void ToOnnxRuntime_hand_checked()
    {
        var layout = BlockLayout.FromDense(new bool[,,]
        {
            { { true, false, false }, { true, true, false }, { false, true, true } },
            { { true, false, false }, { false, false, false }, { true, false, true } },
        }, 64);
        var (rows, cols, maxNnz) = layout.ToOnnxRuntime();
        Assert.Equal(OrtRows, rows);
        Assert.Equal(OrtCols, cols);
        Assert.Equal(5, maxNnz);
    }

    [Fact]
    public void OnnxRuntime_round_trips()
    {
        foreach (var layout in new[] { BlockPatterns.Phi3Small(64 * 37 + 1, 4), BlockPatterns.Causal(16, 16),
                     TestData.RandomLayout(32, 6, 6, 3, 0.3, 5), BlockLayout.FromCsr(16, 3, 3, [0, 0, 0, 0], []) })
        {
            var (rows, cols, maxNnz) = layout.ToOnnxRuntime();
            Assert.Equal(layout.LayoutCount * maxNnz, cols.Length);
            Assert.Equal(layout, BlockLayout.FromOnnxRuntime(rows, cols, layout.LayoutCount, layout.BlockSize, causal: layout.IsCausal));
        }
    }

    [Fact]
    public void FromOnnxRuntime_is_causal_unless_told_otherwise_and_FromDeepSpeed_is_not()
    {
        // ONNX Runtime's SparseAttention always masks causally; a DeepSpeed tensor does not say whether it was unidirectional.
        Assert.True(BlockLayout.FromOnnxRuntime(OrtRows, OrtCols, 2, 64).IsCausal);
        Assert.False(BlockLayout.FromOnnxRuntime(OrtRows, OrtCols, 2, 64, causal: false).IsCausal);
        var unidirectional = BlockPatterns.Fixed(100, 16, unidirectional: true);
        var imported = BlockLayout.FromDeepSpeed(unidirectional.ToDeepSpeed(1), 1, unidirectional.QueryBlocks, 16);
        Assert.False(imported.IsCausal);
        Assert.Equal(unidirectional, imported.WithCausal(true));
    }

    [Fact]
    public void ToOnnxRuntime_needs_a_square_layout() =>
        Assert.Throws<InvalidOperationException>(() => BlockPatterns.Causal(20, 16, 50).ToOnnxRuntime());

    // Each malformed case: rows, cols, layouts, the argument that must be named and a fragment of the message.
    public static TheoryData<int[], int[], int, string, string> Malformed() => new()
    {
        { [0, 1, 3, 5, 0, 1, 1], OrtCols, 2, "blockRowIndices", "7 values" },                 // not divisible by numLayouts
        { [0, 0], [], 2, "blockRowIndices", "max_blocks ≥ 1" },                                 // one offset per layout: no blocks
        { OrtRows, [0, 0, 1, 1, 2, 0, 0, 2, -1], 2, "blockColIndices", "9 values" },            // cols not divisible
        { [1, 1, 3, 5, 0, 1, 1, 3], OrtCols, 2, "blockRowIndices", "blockRowIndices[0]" },      // offsets do not start at 0
        { [0, 1, 3, 5, 0, 2, 1, 3], OrtCols, 2, "blockRowIndices", "blockRowIndices[6] = 1" },  // decreasing offsets
        { [0, 1, 3, 6, 0, 1, 1, 3], OrtCols, 2, "blockRowIndices", "exceeds max_nnz = 5" },     // end past max_nnz
        { OrtRows, [0, 0, 1, 1, 3, 0, 0, 2, -1, -1], 2, "blockColIndices", "blockColIndices[4] = 3" },   // column ≥ max_blocks
        { OrtRows, [0, 0, 1, 1, 2, -1, 0, 2, -1, -1], 2, "blockColIndices", "blockColIndices[5] = -1" }, // −1 inside a row
        { OrtRows, [0, 1, 0, 1, 2, 0, 0, 2, -1, -1], 2, "blockColIndices", "unsorted" },
        { OrtRows, [0, 0, 1, 2, 2, 0, 0, 2, -1, -1], 2, "blockColIndices", "duplicate" },
        { OrtRows, [0, 0, 1, 1, 2, 0, 0, 2, -1, 0], 2, "blockColIndices", "padding must be -1" },
        { OrtRows, [0, 0, 1, 1, 2, 0, 0, 2, 7, -1], 2, "blockColIndices", "blockColIndices[8] = 7" },
        { OrtRows, OrtCols, 0, "numLayouts", "0" },
    };

    [Theory, MemberData(nameof(Malformed))]
    public void FromOnnxRuntime_rejects_malformed_layouts(int[] rows, int[] cols, int layouts, string param, string fragment)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => BlockLayout.FromOnnxRuntime(rows, cols, layouts, 64));
        Assert.Equal(param, ex.ParamName);
        Assert.Contains(fragment, ex.Message);
    }

    [Fact]
    public void FromOnnxRuntime_rejects_an_unsupported_block_size() =>
        Assert.Equal("blockSize", Assert.ThrowsAny<ArgumentException>(() => BlockLayout.FromOnnxRuntime(OrtRows, OrtCols, 2, 24)).ParamName);

    // Found by the layout-import fuzz harness: 65536 × (2³⁰)² wrapped to 0 in 64 bits, so an empty array passed the length
    // check and the import read past it (IndexOutOfRangeException).
    [Fact]
    public void FromDeepSpeed_rejects_sizes_whose_product_wraps_64_bits() =>
        Assert.Equal("layout", Assert.Throws<InvalidLayoutException>(() => BlockLayout.FromDeepSpeed([], 65536, 1 << 30, 16)).ParamName);
}
