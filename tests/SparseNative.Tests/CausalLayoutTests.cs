using Xunit;

namespace SparseNative.Tests;

/// <summary>
/// <see cref="BlockLayout.IsCausal"/>: a layout built as causal carries the token causal mask, so attention over it is causal
/// without <see cref="AttentionOptions.Causal"/> on every backend and entry point; <see cref="BlockLayout.WithCausal"/> changes
/// the flag; the layout algebra keeps it; every builder sets it exactly when it is causal or unidirectional.
/// </summary>
public class CausalLayoutTests
{
    // Both sides accumulate in float64 and round once (reference vs dense expansion); fp32 backends as in BackendComparisonTests.
    private const double ReferenceTolerance = Tolerances.RoundedOnceRelative, Fp32Tolerance = Tolerances.ForwardRelative, LseTolerance = Tolerances.LogSumExp;

    public static TheoryData<string, bool> Builders() => new()
    {
        // name, expected IsCausal
        { "Dense", false }, { "Causal", true }, { "CausalCross", true }, { "LocalWindow", false }, { "LocalWindowCausal", true },
        { "BlockDiagonal", false }, { "Dilated", false }, { "DilatedCausal", true }, { "Strided", true }, { "Phi3Small", true },
        { "Fixed", false }, { "FixedUni", true }, { "Variable", false }, { "VariableUni", true }, { "BigBird", false },
        { "BigBirdUni", true }, { "BSLongformer", false }, { "BSLongformerUni", true }, { "Packed", false }, { "PackedCausal", true },
        { "Segments", false }, { "SegmentsCausal", true }, { "TopK", false }, { "TopKCausal", true }, { "Routing", false },
        { "RoutingCausal", true }, { "FromCsr", false }, { "FromDense", false }, { "FromPredicate", false }, { "FromDeepSpeed", false },
        { "FromOnnxRuntime", true }, { "FromOnnxRuntimeNotCausal", false }, { "Swin", false },
    };

    private const int N = 100; // 7 blocks of 16, the last partial

    private static BlockLayout Make(string name)
    {
        var s = new AttentionShape(1, 2, 1, N, N, 16);
        var (q, k, _) = TestData.Qkv(s, 3);
        int[] cu = [0, 30, 64, N];
        int[] ids = Enumerable.Range(0, N).Select(t => t / 40).ToArray();
        var ortSource = BlockPatterns.Phi3Small(300, 2);
        var (ortRows, ortCols, _) = ortSource.ToOnnxRuntime();
        return name switch
        {
            "Dense" => BlockPatterns.Dense(N, 16),
            "Causal" => BlockPatterns.Causal(N, 16),
            "CausalCross" => BlockPatterns.Causal(40, 16, keyLength: N),
            "LocalWindow" => BlockPatterns.LocalWindow(N, 16, 1),
            "LocalWindowCausal" => BlockPatterns.LocalWindow(N, 16, 2, causal: true),
            "BlockDiagonal" => BlockPatterns.BlockDiagonal(N, 16),
            "Dilated" => BlockPatterns.Dilated(N, 16, 4, 2),
            "DilatedCausal" => BlockPatterns.Dilated(N, 16, 4, 2, causal: true),
            "Strided" => BlockPatterns.Strided(N, 16, 2, 3, numLayouts: 2),
            "Phi3Small" => BlockPatterns.Phi3Small(N),
            "Fixed" => BlockPatterns.Fixed(N, 16, 4, 2),
            "FixedUni" => BlockPatterns.Fixed(N, 16, 4, 2, unidirectional: true),
            "Variable" => BlockPatterns.Variable(N, 16, 1, [2, 3], [1], heads: 2, seed: 3),
            "VariableUni" => BlockPatterns.Variable(N, 16, 1, [2, 3], [1], unidirectional: true, heads: 2, seed: 3),
            "BigBird" => BlockPatterns.BigBird(N, 16, 1, heads: 2, seed: 4),
            "BigBirdUni" => BlockPatterns.BigBird(N, 16, 2, unidirectional: true, heads: 2, seed: 5),
            "BSLongformer" => BlockPatterns.BSLongformer(N, 16, 3, [0, 4], [1, 6]),
            "BSLongformerUni" => BlockPatterns.BSLongformer(N, 16, 3, [0, 4], [1, 6], unidirectional: true),
            "Packed" => PackedSequences.FromCumulativeLengths(cu, cu, 16).Layout,
            "PackedCausal" => PackedSequences.FromCumulativeLengths(cu, cu, 16, causal: true).Layout,
            "Segments" => SegmentLayout.FromSegmentIds(ids, ids, 1, N, N, 16, causal: false),
            "SegmentsCausal" => SegmentLayout.FromSegmentIds(ids, ids, 1, N, N, 16, causal: true),
            "TopK" => BlockSelection.TopK(q, k, s, 16, new TopKOptions { K = 2 }),
            "TopKCausal" => BlockSelection.TopK(q, k, s, 16, new TopKOptions { K = 2, Causal = true }),
            "Routing" => BlockSelection.Routing(q, k, s, 16, new RoutingOptions { Clusters = 2 }),
            "RoutingCausal" => BlockSelection.Routing(q, k, s, 16, new RoutingOptions { Clusters = 2, Causal = true }),
            "FromCsr" => BlockLayout.FromCsr(16, 2, 2, [0, 1, 2], [0, 1]),
            "FromDense" => BlockLayout.FromDense(new[,] { { true, false }, { true, true } }, 16),
            "FromPredicate" => BlockLayout.FromPredicate(16, 3, 3, 1, (_, r, c) => c <= r),
            "FromDeepSpeed" => BlockLayout.FromDeepSpeed([1, 0, 1, 1], 1, 2, 16),
            "FromOnnxRuntime" => BlockLayout.FromOnnxRuntime(ortRows, ortCols, 2, 64),
            "FromOnnxRuntimeNotCausal" => BlockLayout.FromOnnxRuntime(ortRows, ortCols, 2, 64, causal: false),
            "Swin" => SwinWindows.Partition(8, 8, 4, 16).Layout,
            _ => throw new ArgumentException(name),
        };
    }

    [Theory, MemberData(nameof(Builders))]
    public void Every_builder_says_whether_it_is_causal(string name, bool causal) => Assert.Equal(causal, Make(name).IsCausal);

    /// <summary>Every backend that runs here, the reference first.</summary>
    public static TheoryData<Backend> AvailableBackends()
    {
        var data = new TheoryData<Backend>();
        foreach (var b in SparseAttention.Backends.Where(b => b.IsAvailable && b.Backend != Backend.Cuda)) data.Add(b.Backend);
        return data;
    }

    public static TheoryData<string> CausalProblems => new() { "self", "cross", "decode", "gqa-bshd", "phi3" };

    private static (AttentionShape Shape, BlockLayout Layout, TensorFormat Format) Problem(string name) => name switch
    {
        "self" => (new(1, 2, 2, N, N, 16), BlockPatterns.Causal(N, 16), TensorFormat.Bhsd),
        "cross" => (new(2, 2, 1, 40, N, 24), BlockPatterns.Causal(40, 16, keyLength: N), TensorFormat.Bhsd),
        "decode" => (new(1, 4, 2, 3, 77, 32), BlockPatterns.Causal(3, 32, keyLength: 77), TensorFormat.Bhsd),
        "gqa-bshd" => (new(1, 4, 2, N, N, 16), BlockPatterns.LocalWindow(N, 16, 2, causal: true), TensorFormat.Bshd),
        _ => (new(1, 4, 4, 200, 200, 64), BlockPatterns.Strided(200, 32, 2, 3, numLayouts: 4), TensorFormat.Bhsd),
    };

    private static (float[] O, float[] Lse) Run(AttentionShape s, BlockLayout layout, AttentionOptions options, float[] q, float[] k, float[] v)
    {
        var o = new float[s.QueryElements];
        var lse = new float[s.LogSumExpElements];
        Assert.Equal(options.Backend, SparseAttention.Forward(q, k, v, o, s, layout, options, lse));
        return (o, lse);
    }

    [Theory]
    [MemberData(nameof(AvailableBackends))]
    public void A_causal_layout_is_causal_without_the_option_on_every_backend(Backend backend)
    {
        foreach (string name in CausalProblems)
        {
            var (s, layout, format) = Problem(name);
            Assert.True(layout.IsCausal);
            var (q, k, v) = TestData.Qkv(s, name.Length, scale: 2f);
            var byLayout = Run(s, layout, new AttentionOptions { Backend = backend, Format = format }, q, k, v);

            // Exactly what asking for causality gives on the same backend, and that is the causal result by two independent routes.
            var byOption = Run(s, layout, new AttentionOptions { Backend = backend, Format = format, Causal = true }, q, k, v);
            Assert.Equal(byOption.O, byLayout.O);
            Assert.Equal(byOption.Lse, byLayout.Lse);
            var reference = Run(s, layout.WithCausal(false), new AttentionOptions { Backend = Backend.Reference, Format = format, Causal = true }, q, k, v);
            var (eo, el) = NaiveDense.Run(q, k, v, s, layout, causal: true, format: format);
            double bound = backend == Backend.Reference ? ReferenceTolerance : Fp32Tolerance;
            Assert.True(TestData.RelativeError(byLayout.O, reference.O) <= bound, $"{name}: rel err {TestData.RelativeError(byLayout.O, reference.O):E2} to the reference");
            Assert.True(TestData.RelativeError(byLayout.O, eo) <= bound, $"{name}: rel err {TestData.RelativeError(byLayout.O, eo):E2} to the dense expansion");
            Assert.True(TestData.MaxLseError(byLayout.Lse, el) <= LseTolerance, $"{name}: lse err {TestData.MaxLseError(byLayout.Lse, el):E2}");
        }
    }

    [Theory]
    [MemberData(nameof(AvailableBackends))]
    public void WithCausal_false_gives_block_level_causality_only(Backend backend)
    {
        var (s, layout, format) = Problem("self");
        var (q, k, v) = TestData.Qkv(s, 11, scale: 2f);
        var blockOnly = Run(s, layout.WithCausal(false), new AttentionOptions { Backend = backend, Format = format }, q, k, v);
        var (eo, el) = NaiveDense.Run(q, k, v, s, layout, causal: false, format: format);
        double bound = backend == Backend.Reference ? ReferenceTolerance : Fp32Tolerance;
        Assert.True(TestData.RelativeError(blockOnly.O, eo) <= bound, $"rel err {TestData.RelativeError(blockOnly.O, eo):E2}");
        Assert.True(TestData.MaxLseError(blockOnly.Lse, el) <= LseTolerance);
        // And that is really a different answer: queries see the future tokens of their own block.
        var (co, _) = NaiveDense.Run(q, k, v, s, layout, causal: true, format: format);
        Assert.True(TestData.RelativeError(blockOnly.O, co) > 1e-2, "the block-level result should differ from the causal one");
    }

    [Fact]
    public void Split_keys_and_backend_selection_keep_the_layouts_causality()
    {
        var s = new AttentionShape(1, 4, 2, 5, 400, 16);
        var layout = BlockPatterns.Causal(5, 16, keyLength: 400);
        var (q, k, v) = TestData.Qkv(s, 21, scale: 2f);
        var o = new float[s.QueryElements];
        var lse = new float[s.LogSumExpElements];
        SparseAttention.ForwardSplitKeys(q, k, v, o, s, layout, new AttentionOptions { Backend = Backend.Reference }, lse, splits: 4);
        var (eo, el) = NaiveDense.Run(q, k, v, s, layout, causal: true);
        Assert.True(TestData.RelativeError(o, eo) <= Fp32Tolerance, $"rel err {TestData.RelativeError(o, eo):E2}");
        Assert.True(TestData.MaxLseError(lse, el) <= LseTolerance);
        Assert.Equal(Backend.Reference, SparseAttention.SelectBackend(s, layout, new AttentionOptions { Backend = Backend.Reference }));
    }

    [Fact]
    public void Active_pairs_count_the_causal_mask_of_a_causal_layout()
    {
        var s = new AttentionShape(1, 2, 2, 40, N, 16);
        var layout = BlockPatterns.Causal(40, 16, keyLength: N);
        Assert.Equal(AttentionCost.ActivePairs(s, layout.WithCausal(false), causal: true), AttentionCost.ActivePairs(s, layout, causal: false));
        Assert.Equal(AttentionCost.DensePairs(s, causal: true), AttentionCost.ActivePairs(s, layout, causal: false));
    }

    // ---- the flag and the algebra ----

    [Fact]
    public void WithCausal_changes_only_the_flag()
    {
        var causal = BlockPatterns.Causal(N, 16);
        var plain = causal.WithCausal(false);
        Assert.False(plain.IsCausal);
        Assert.Same(causal, causal.WithCausal(true));
        Assert.Equal(causal.ToDense(), plain.ToDense());
        Assert.NotEqual(causal, plain);
        Assert.NotEqual(causal.GetHashCode(), plain.GetHashCode());
        Assert.Equal(causal, plain.WithCausal(true));
        Assert.Equal(causal.GetHashCode(), plain.WithCausal(true).GetHashCode());
        Assert.Contains("causal", causal.ToString());
        Assert.DoesNotContain("causal", plain.ToString());
    }

    [Fact]
    public void Crop_and_ExpandToHeads_keep_the_flag()
    {
        var causal = BlockPatterns.Causal(N, 16);
        Assert.True(causal.Crop(3, 3).IsCausal);
        Assert.True(causal.ExpandToHeads(4).IsCausal);
        Assert.False(BlockPatterns.Dense(N, 16).Crop(3, 3).IsCausal);
        Assert.False(BlockPatterns.Dense(N, 16).ExpandToHeads(2).IsCausal);
    }

    [Fact]
    public void Intersect_is_causal_when_either_layout_is()
    {
        var causal = BlockPatterns.Causal(N, 16);
        var window = BlockPatterns.LocalWindow(N, 16, 1);
        Assert.True(causal.Intersect(window).IsCausal);
        Assert.True(window.Intersect(causal).IsCausal);
        Assert.False(window.Intersect(BlockPatterns.Dense(N, 16)).IsCausal);
        Assert.Equal(window.Intersect(causal.WithCausal(false)).WithCausal(true), window.Intersect(causal));
    }

    [Fact]
    public void Union_needs_agreeing_flags()
    {
        var causal = BlockPatterns.Causal(N, 16);
        var window = BlockPatterns.LocalWindow(N, 16, 1);
        var ex = Assert.Throws<ArgumentException>(() => causal.Union(window));
        Assert.Equal("other", ex.ParamName);
        Assert.Contains("WithCausal", ex.Message);
        Assert.Throws<ArgumentException>(() => window.Union(causal));
        Assert.Throws<ArgumentException>(() => BlockLayout.UnionAll(causal, causal, window));
        Assert.True(causal.Union(window.WithCausal(true)).IsCausal);
        Assert.False(causal.WithCausal(false).Union(window).IsCausal);
        Assert.True(causal.Union(BlockPatterns.LocalWindow(N, 16, 1, causal: true)).IsCausal);
    }
}
