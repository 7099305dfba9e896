using Xunit;

namespace SparseNative.Tests.Dynamic;

/// <summary><see cref="SparseAttention.ForwardSplitKeys"/> (flash-decoding) against the float64 reference and <see cref="NaiveDense"/>.</summary>
public class SplitKeysTests
{
    // Chunks are reference results rounded to float32, then merged in float32: a few float32 roundings per element.
    private const double OutputTolerance = Tolerances.RoundedOnceRelative;

    public static TheoryData<int, int, int, int, int, int, bool, TensorFormat, int> Cases => new()
    {
        // batch, Hq, Hkv, Lq, Lk, block, causal, format, splits
        { 1, 8, 2, 1, 1000, 16, true, TensorFormat.Bhsd, 0 },     // decode: one query against a cache, GQA 4:1
        { 2, 4, 1, 16, 777, 32, true, TensorFormat.Bshd, 3 },     // 16 queries, MQA, BSHD, tail
        { 1, 4, 4, 5, 300, 16, false, TensorFormat.Bhsd, 7 },     // cross, not causal, odd split count
        { 1, 2, 2, 40, 40, 16, true, TensorFormat.Bhsd, 2 },      // self-attention, several query blocks
        { 1, 2, 1, 3, 64, 64, false, TensorFormat.Bhsd, 5 },      // more splits than blocks: clamped
        { 1, 2, 2, 1, 500, 16, false, TensorFormat.Bhsd, 1 },     // one split = Forward
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void SplitKeysEqualsTheReference(int batch, int hq, int hkv, int lq, int lk, int block, bool causal, TensorFormat format, int splits)
    {
        var s = new AttentionShape(batch, hq, hkv, lq, lk, 16);
        // Sparse rows of different lengths, one list per head, some rows empty (low density).
        var layout = TestData.RandomLayout(block, s.QueryBlocks(block), s.KeyBlocks(block), hq, lq > 16 ? 0.3 : 0.4, seed: lk + splits);
        var (q, k, v) = TestData.Qkv(s, lk, scale: 2f);
        var options = new AttentionOptions { Causal = causal, Format = format, Backend = Backend.Reference, MaxThreads = 2 };
        var o = new float[s.QueryElements];
        var lse = new float[s.LogSumExpElements];
        SparseAttention.ForwardSplitKeys(q, k, v, o, s, layout, options, lse, splits);

        var eo = new float[s.QueryElements];
        var el = new float[s.LogSumExpElements];
        SparseAttention.Forward(q, k, v, eo, s, layout, options, el);
        Assert.True(TestData.RelativeError(o, eo) <= OutputTolerance, $"rel err {TestData.RelativeError(o, eo)}");
        Assert.True(TestData.MaxLseError(lse, el) <= Tolerances.LogSumExp, $"lse err {TestData.MaxLseError(lse, el)}");
        if (lq * lk <= 20000)
        {
            var (no, nl) = NaiveDense.Run(q, k, v, s, layout, causal, format: format);
            Assert.True(TestData.RelativeError(o, no) <= OutputTolerance);
            Assert.True(TestData.MaxLseError(lse, nl) <= Tolerances.LogSumExp);
        }
    }

    [Fact]
    public void SegmentIdsAutoBackendAndNoLogSumExp()
    {
        var s = new AttentionShape(2, 4, 2, 4, 400, 8);
        var layout = TestData.RandomLayout(16, 1, 25, 1, 0.7, 9);
        var (q, k, v) = TestData.Qkv(s, 77);
        var rng = new Random(3);
        var segQ = Enumerable.Range(0, 8).Select(_ => rng.Next(3)).ToArray();
        var segK = Enumerable.Range(0, 800).Select(_ => rng.Next(3)).ToArray();
        var options = new AttentionOptions { QuerySegmentIds = segQ, KeySegmentIds = segK };
        var o = new float[s.QueryElements];
        SparseAttention.ForwardSplitKeys(q, k, v, o, s, layout, options, splits: 4);
        var (eo, _) = NaiveDense.Run(q, k, v, s, layout, segQ: segQ, segK: segK);
        Assert.True(TestData.RelativeError(o, eo) <= OutputTolerance);
    }

    [Fact]
    public void ResultForAFixedSplitCountDoesNotDependOnThreads()
    {
        var s = new AttentionShape(1, 4, 1, 2, 2000, 16);
        var layout = TestData.RandomLayout(16, 1, 125, 4, 0.5, 1);
        var (q, k, v) = TestData.Qkv(s, 5);
        var a = new float[s.QueryElements];
        var b = new float[s.QueryElements];
        SparseAttention.ForwardSplitKeys(q, k, v, a, s, layout, new AttentionOptions { MaxThreads = 1 }, splits: 6);
        SparseAttention.ForwardSplitKeys(q, k, v, b, s, layout, new AttentionOptions { MaxThreads = 3 }, splits: 6);
        Assert.Equal(a, b);
    }

    [Fact]
    public void BadInputIsRejectedOnce()
    {
        var s = new AttentionShape(1, 2, 2, 1, 64, 8);
        var layout = TestData.RandomLayout(16, 1, 4, 1, 1.0, 1);
        var (q, k, v) = TestData.Qkv(s, 1);
        var o = new float[s.QueryElements];
        Assert.Equal("splits", Assert.ThrowsAny<ArgumentException>(() => SparseAttention.ForwardSplitKeys(q, k, v, o, s, layout, splits: -1)).ParamName);
        Assert.Equal("value", Assert.ThrowsAny<ArgumentException>(() => SparseAttention.ForwardSplitKeys(q, k, v.AsSpan(1), o, s, layout)).ParamName);
        k[100] = float.PositiveInfinity;
        Assert.Equal("key", Assert.ThrowsAny<ArgumentException>(() => SparseAttention.ForwardSplitKeys(q, k, v, o, s, layout, splits: 2)).ParamName);
        if (!System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported) // a backend that cannot run: its own exception, not an AggregateException
            Assert.Throws<BackendUnavailableException>(() =>
                SparseAttention.ForwardSplitKeys(q, k, v, o, s, layout, new AttentionOptions { Backend = Backend.Neon, CheckFinite = false }, splits: 2));
        var wrong = TestData.RandomLayout(16, 1, 5, 1, 1.0, 1);
        Assert.Equal("layout", Assert.ThrowsAny<ArgumentException>(() => SparseAttention.ForwardSplitKeys(q, k, v, o, s, wrong)).ParamName);
    }
}
