using Xunit;

namespace SparseNative.Tests;

/// <summary>The float64 reference against the independent dense implementation (<see cref="NaiveDense"/>).</summary>
public class ReferenceTests
{

    public static TheoryData<int, int, int, int, int, int, int, bool, TensorFormat, int> Cases => new()
    {
        // batch, Hq, Hkv, Lq, Lk, d, block, causal, format, lists
        { 1, 1, 1, 16, 16, 8, 16, false, TensorFormat.Bhsd, 1 },     // one block
        { 1, 2, 2, 50, 50, 16, 16, false, TensorFormat.Bhsd, 2 },    // tail: 50 = 3·16 + 2, one list per head
        { 2, 4, 2, 40, 40, 8, 16, true, TensorFormat.Bhsd, 1 },      // GQA 2:1, causal, tail
        { 1, 4, 1, 33, 70, 16, 32, true, TensorFormat.Bhsd, 4 },     // MQA, cross (Lq < Lk) bottom-right causal
        { 1, 3, 3, 70, 33, 8, 16, true, TensorFormat.Bshd, 3 },      // Lq > Lk: early queries see nothing under causal
        { 2, 2, 1, 64, 64, 24, 64, false, TensorFormat.Bshd, 1 },    // BSHD, d not a power of two
        { 1, 2, 2, 130, 130, 8, 128, true, TensorFormat.Bhsd, 2 },   // block 128 with a 2-token tail
        { 1, 1, 1, 1, 1, 8, 16, true, TensorFormat.Bhsd, 1 },        // one token
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesNaiveDense(int batch, int hq, int hkv, int lq, int lk, int d, int block, bool causal, TensorFormat format, int lists)
    {
        var s = new AttentionShape(batch, hq, hkv, lq, lk, d);
        var layout = TestData.RandomLayout(block, s.QueryBlocks(block), s.KeyBlocks(block), lists, 0.6, seed: lq * 31 + lk);
        var (q, k, v) = TestData.Qkv(s, seed: 7 + d, scale: 2f);
        var o = new float[s.QueryElements];
        var lse = new float[s.LogSumExpElements];
        var opts = new AttentionOptions { Backend = Backend.Reference, Causal = causal, Format = format };

        var ran = SparseAttention.Forward(q, k, v, o, s, layout, opts, lse);

        Assert.Equal(Backend.Reference, ran);
        var (eo, else_) = NaiveDense.Run(q, k, v, s, layout, causal, format: format);
        Assert.True(TestData.RelativeError(o, eo) <= Tolerances.RoundedOnceRelative, $"output rel err {TestData.RelativeError(o, eo)}");
        Assert.True(TestData.MaxLseError(lse, else_) <= Tolerances.LogSumExp, $"lse err {TestData.MaxLseError(lse, else_)}");
    }

    [Fact]
    public void SegmentIdsRestrictAttentionToEqualIds()
    {
        var s = new AttentionShape(2, 2, 2, 48, 48, 8);
        var layout = TestData.RandomLayout(16, 3, 3, 1, 1.0, 3);
        var (q, k, v) = TestData.Qkv(s, 11);
        var rng = new Random(5);
        var seg = Enumerable.Range(0, 2 * 48).Select(i => (i % 48) / 13 + rng.Next(2)).ToArray();
        var o = new float[s.QueryElements];
        var lse = new float[s.LogSumExpElements];
        SparseAttention.Forward(q, k, v, o, s, layout,
            new AttentionOptions { Backend = Backend.Reference, QuerySegmentIds = seg, KeySegmentIds = seg, Causal = true }, lse);
        var (eo, el) = NaiveDense.Run(q, k, v, s, layout, causal: true, segQ: seg, segK: seg);
        Assert.True(TestData.RelativeError(o, eo) <= Tolerances.RoundedOnceRelative);
        Assert.True(TestData.MaxLseError(lse, el) <= Tolerances.LogSumExp);
    }

    [Fact]
    public void EmptyRowsGiveZerosAndMinusInfinity()
    {
        var s = AttentionShape.SelfAttention(1, 1, 64, 8);
        var mask = new bool[4, 4];
        mask[0, 0] = true; mask[2, 1] = true; // rows 1 and 3 are empty
        var layout = BlockLayout.FromDense(mask, 16);
        var (q, k, v) = TestData.Qkv(s, 1);
        var o = new float[s.QueryElements];
        Array.Fill(o, float.NaN); // prove the backend writes every element
        var lse = new float[s.LogSumExpElements];
        SparseAttention.Forward(q, k, v, o, s, layout, new AttentionOptions { Backend = Backend.Reference }, lse);
        for (int i = 16; i < 32; i++)
        {
            Assert.Equal(float.NegativeInfinity, lse[i]);
            for (int c = 0; c < 8; c++) Assert.Equal(0f, o[i * 8 + c]);
        }
        Assert.All(o, x => Assert.False(float.IsNaN(x)));
        Assert.True(float.IsFinite(lse[0]));
    }

    [Fact]
    public void CustomScaleIsApplied()
    {
        var s = AttentionShape.SelfAttention(1, 2, 32, 16);
        var layout = TestData.RandomLayout(16, 2, 2, 1, 1.0, 9);
        var (q, k, v) = TestData.Qkv(s, 2);
        var o = new float[s.QueryElements];
        SparseAttention.Forward(q, k, v, o, s, layout, new AttentionOptions { Backend = Backend.Reference, Scale = 0.9f });
        var (eo, _) = NaiveDense.Run(q, k, v, s, layout, scale: 0.9f);
        Assert.True(TestData.RelativeError(o, eo) <= Tolerances.RoundedOnceRelative);
        var (other, _) = NaiveDense.Run(q, k, v, s, layout);
        Assert.True(TestData.RelativeError(o, other) > 1e-3, "a different scale must change the result");
    }

    [Fact]
    public void ThreadCountDoesNotChangeTheResult()
    {
        var s = AttentionShape.SelfAttention(1, 4, 80, 16);
        var layout = TestData.RandomLayout(16, 5, 5, 4, 0.5, 4);
        var (q, k, v) = TestData.Qkv(s, 3);
        var o1 = new float[s.QueryElements];
        var o4 = new float[s.QueryElements];
        SparseAttention.Forward(q, k, v, o1, s, layout, new AttentionOptions { Backend = Backend.Reference, MaxThreads = 1 });
        SparseAttention.Forward(q, k, v, o4, s, layout, new AttentionOptions { Backend = Backend.Reference, MaxThreads = 4 });
        Assert.Equal(o1, o4);
    }
}
