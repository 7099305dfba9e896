using SparseNative.Dispatch;
using Xunit;

namespace SparseNative.Tests;

/// <summary>
/// Sizes at the edges of the integer types: element counts past 2³¹ and products that wrap 2⁶⁴, and layouts that declare
/// astronomically many blocks or lists. Each is an <see cref="ArgumentException"/> naming the argument, raised before
/// anything is allocated or read, at every entry point; never an overflow, an allocation attempt or a crash.
/// </summary>
public class ValidationLimitsTests
{
    /// <summary>65536⁴ = 2⁶⁴: every 64-bit element count of this shape is 0, which empty spans would match.</summary>
    private static readonly AttentionShape Wraps64 = new(65536, 65536, 65536, 65536, 65536, 65536);

    private static void AssertNamesTheQueryProduct(ArgumentException ex)
    {
        Assert.Equal("shape", ex.ParamName);
        Assert.Contains("Batch·QueryHeads·QueryLength·HeadDim = 18446744073709551616", ex.Message);
    }

    [Theory]
    [InlineData(1, 1, 1, 65536, 1, 32768, "Batch·QueryHeads·QueryLength·HeadDim = 2147483648")]
    [InlineData(1, 1, 1, 1, int.MaxValue, 8, "Batch·KeyValueHeads·KeyLength·HeadDim = 17179869176")]
    [InlineData(int.MaxValue, int.MaxValue, int.MaxValue, int.MaxValue, int.MaxValue, int.MaxValue,
        "= 21267647892944572736998860269687930881")]
    public void Element_counts_past_what_a_span_indexes_name_the_product(int b, int hq, int hkv, int lq, int lk, int d, string product)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => new AttentionShape(b, hq, hkv, lq, lk, d).Validate());
        Assert.Equal("shape", ex.ParamName);
        Assert.Contains(product, ex.Message);
    }

    [Fact]
    public void A_shape_whose_counts_wrap_64_bits_is_refused_by_every_entry_point()
    {
        var layout = BlockLayout.FromCsr(16, 4096, 4096, new int[4097], []); // the block grid this shape implies, empty
        float[] none = [];
        var options = new AttentionOptions { Backend = Backend.Reference, CheckFinite = false };
        AssertNamesTheQueryProduct(Assert.ThrowsAny<ArgumentException>(() => Wraps64.Validate()));
        AssertNamesTheQueryProduct(Assert.ThrowsAny<ArgumentException>(() =>
            SparseAttention.Forward(none, none, none, none, Wraps64, layout, options)));
        AssertNamesTheQueryProduct(Assert.ThrowsAny<ArgumentException>(() => SparseAttention.SelectBackend(Wraps64, layout, options)));
        AssertNamesTheQueryProduct(Assert.ThrowsAny<ArgumentException>(() =>
            SparseAttention.ForwardSplitKeys(none, none, none, none, Wraps64, layout, options, splits: 2)));
        AssertNamesTheQueryProduct(Assert.ThrowsAny<ArgumentException>(() =>
            SparseAttention.Backward(none, none, none, none, none, none, none, none, none, Wraps64, layout, options)));
        AssertNamesTheQueryProduct(Assert.ThrowsAny<ArgumentException>(() =>
            SparseAttention.MergeStates(none, none, none, none, none, none, Wraps64)));
        AssertNamesTheQueryProduct(Assert.ThrowsAny<ArgumentException>(() => BlockSelection.TopK(none, none, Wraps64, 16, new TopKOptions())));
        AssertNamesTheQueryProduct(Assert.ThrowsAny<ArgumentException>(() =>
            BlockSelection.Routing(none, none, Wraps64, 16, new RoutingOptions())));
    }

    [Fact]
    public void A_csr_layout_declaring_int_max_query_blocks_is_refused_before_its_offsets_are_read()
    {
        // int.MaxValue + 1 offsets per list: counted in 64 bits, not wrapped to a negative count.
        var ex = Assert.Throws<InvalidLayoutException>(() => BlockLayout.FromCsr(16, int.MaxValue, 1, [0, 0], []));
        Assert.Equal("rowOffsets", ex.ParamName);
        Assert.Contains("need 2147483648", ex.Message);
        ex = Assert.Throws<InvalidLayoutException>(() => BlockLayout.FromCsr(16, int.MaxValue, 1, [0], [], layoutCount: int.MaxValue));
        Assert.Contains("need 4611686016279904256", ex.Message);
    }

    [Fact]
    public void A_layout_declaring_int_max_key_blocks_is_valid_but_fits_no_shape_and_has_no_dense_form()
    {
        var far = BlockLayout.FromCsr(16, 1, int.MaxValue, [0, 1], [int.MaxValue - 1]);
        Assert.Equal(1, far.ActiveBlocks);
        Assert.True(far.Density > 0);
        var shape = new AttentionShape(1, 1, 1, 16, 16, 8);
        var (q, k, v) = TestData.Qkv(shape, 1);
        var ex = Assert.Throws<InvalidLayoutException>(() => SparseAttention.Forward(q, k, v, new float[q.Length], shape, far));
        Assert.Equal("layout", ex.ParamName);
        Assert.Contains($"{int.MaxValue} key blocks", ex.Message);
        // The conversions that would materialise the grid refuse it instead of attempting a 2³¹-element array.
        Assert.Contains("more than one array holds", Assert.Throws<InvalidOperationException>(() => far.ToDense()).Message);
        Assert.Equal("heads", Assert.Throws<InvalidLayoutException>(() => far.ToDeepSpeed(1)).ParamName);
        Assert.Throws<InvalidOperationException>(() => far.ToOnnxRuntime());
    }

    [Fact]
    public void Builders_declaring_astronomical_block_counts_name_the_count_before_calling_back()
    {
        int calls = 0;
        bool Count(int l, int r, int c) { calls++; return true; }
        var rows = Assert.ThrowsAny<ArgumentException>(() => BlockLayout.FromPredicate(16, int.MaxValue, 1, 1, Count));
        Assert.Equal("queryBlocks", rows.ParamName);
        var lists = Assert.ThrowsAny<ArgumentException>(() => BlockLayout.FromPredicate(16, 1, 1, int.MaxValue, Count));
        Assert.Equal("layoutCount", lists.ParamName);
        Assert.Equal(0, calls);
        // Imports: the declared counts must match the data's length (in 128 bits) before a value is read.
        Assert.Equal("layout", Assert.Throws<InvalidLayoutException>(() => BlockLayout.FromDeepSpeed([], int.MaxValue, int.MaxValue, 16)).ParamName);
        Assert.Equal("blockRowIndices", Assert.Throws<InvalidLayoutException>(() =>
            BlockLayout.FromOnnxRuntime([0, 0], [], int.MaxValue, 16)).ParamName);
        Assert.Equal("heads", Assert.ThrowsAny<ArgumentException>(() =>
            BlockPatterns.Dense(16, 16).ExpandToHeads(int.MaxValue)).ParamName);
    }
}
