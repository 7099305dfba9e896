using Xunit;

namespace SparseNative.Tests;

/// <summary>Pattern layouts fit the shapes they are built for and run through the float64 reference like any layout.</summary>
public class PatternsEndToEndTests
{

    private const int Length = 100, Heads = 6, KvHeads = 3, HeadDim = 16;   // 100 tokens = 6 blocks of 16 + 4

    public static TheoryData<string, bool> Layouts() => new()
    {
        { "Dense", false }, { "Causal", true }, { "LocalWindow", false }, { "LocalWindowCausal", true }, { "BlockDiagonal", false },
        { "Dilated", false }, { "Strided", true }, { "Fixed", false }, { "FixedUni", true }, { "Variable", false },
        { "BigBird", false }, { "BigBirdUni", true }, { "BSLongformer", false },
    };

    private static BlockLayout Make(string name) => name switch
    {
        "Dense" => BlockPatterns.Dense(Length, 16),
        "Causal" => BlockPatterns.Causal(Length, 16),
        "LocalWindow" => BlockPatterns.LocalWindow(Length, 16, 1),
        "LocalWindowCausal" => BlockPatterns.LocalWindow(Length, 16, 2, causal: true),
        "BlockDiagonal" => BlockPatterns.BlockDiagonal(Length, 16),
        "Dilated" => BlockPatterns.Dilated(Length, 16, 4, 2),
        "Strided" => BlockPatterns.Strided(Length, 16, 2, 3, numLayouts: 3),
        "Fixed" => BlockPatterns.Fixed(Length, 16, 4, 1, horizontalGlobalAttention: true, numDifferentGlobalPatterns: 2, heads: Heads),
        "FixedUni" => BlockPatterns.Fixed(Length, 16, 4, 2, unidirectional: true),
        "Variable" => BlockPatterns.Variable(Length, 16, 1, [2, 3], [1], heads: Heads, seed: 3),
        "BigBird" => BlockPatterns.BigBird(Length, 16, 1, heads: 2, seed: 4),
        "BigBirdUni" => BlockPatterns.BigBird(Length, 16, 2, unidirectional: true, heads: 3, seed: 5),
        "BSLongformer" => BlockPatterns.BSLongformer(Length, 16, 3, [0, 4], [1, 6]),
        _ => throw new ArgumentException(name),
    };

    [Theory, MemberData(nameof(Layouts))]
    public void Reference_matches_the_dense_expansion(string name, bool causal)
    {
        var s = new AttentionShape(1, Heads, KvHeads, Length, Length, HeadDim);
        var layout = Make(name);
        layout.ValidateFor(s);
        var (q, k, v) = TestData.Qkv(s, seed: name.Length, scale: 2f);
        var o = new float[s.QueryElements];
        var lse = new float[s.LogSumExpElements];
        SparseAttention.Forward(q, k, v, o, s, layout, new AttentionOptions { Backend = Backend.Reference, Causal = causal }, lse);
        var (eo, el) = NaiveDense.Run(q, k, v, s, layout, causal);
        Assert.True(TestData.RelativeError(o, eo) <= Tolerances.RoundedOnceRelative, $"output rel err {TestData.RelativeError(o, eo)}");
        Assert.True(TestData.MaxLseError(lse, el) <= Tolerances.LogSumExp, $"lse err {TestData.MaxLseError(lse, el)}");
    }

    [Theory]
    [InlineData(100, 100)] [InlineData(40, 100)] [InlineData(100, 40)] [InlineData(1, 77)] [InlineData(17, 17)]
    public void Causal_layout_skips_only_blocks_the_causal_mask_empties(int lq, int lk)
    {
        // With the token causal mask on, the Causal layout must give exactly what the Dense layout gives.
        var s = new AttentionShape(1, 2, 1, lq, lk, HeadDim);
        var (q, k, v) = TestData.Qkv(s, seed: lq + lk);
        var opts = new AttentionOptions { Backend = Backend.Reference, Causal = true };
        var (o1, l1) = (new float[s.QueryElements], new float[s.LogSumExpElements]);
        var (o2, l2) = (new float[s.QueryElements], new float[s.LogSumExpElements]);
        SparseAttention.Forward(q, k, v, o1, s, BlockPatterns.Causal(lq, 16, lk), opts, l1);
        SparseAttention.Forward(q, k, v, o2, s, BlockPatterns.Dense(lq, 16, lk), opts, l2);
        Assert.True(TestData.RelativeError(o1, o2) <= Tolerances.RoundedOnceRelative, $"output rel err {TestData.RelativeError(o1, o2)}");
        Assert.True(TestData.MaxLseError(l1, l2) <= Tolerances.LogSumExp, $"lse err {TestData.MaxLseError(l1, l2)}");
    }
}
