using Xunit;

namespace SparseNative.Tests;

public class MergeStatesTests
{
    [Theory]
    [InlineData(TensorFormat.Bhsd, false)]
    [InlineData(TensorFormat.Bshd, true)]
    public void MergingDisjointKeySetsEqualsOneShot(TensorFormat format, bool causal)
    {
        var s = new AttentionShape(2, 4, 2, 64, 96, 16);
        var full = TestData.RandomLayout(16, 4, 6, 2, 0.7, 12);
        // Split every row's key blocks into even and odd columns: two disjoint layouts whose union is the full one.
        var even = full.Intersect(BlockLayout.FromPredicate(16, 4, 6, 1, (_, _, c) => c % 2 == 0));
        var odd = full.Intersect(BlockLayout.FromPredicate(16, 4, 6, 1, (_, _, c) => c % 2 == 1));
        Assert.Equal(full, even.Union(odd));

        var (q, k, v) = TestData.Qkv(s, 21);
        var opts = new AttentionOptions { Backend = Backend.Reference, Causal = causal, Format = format };
        float[] Run(BlockLayout l, out float[] lse)
        {
            var o = new float[s.QueryElements];
            lse = new float[s.LogSumExpElements];
            SparseAttention.Forward(q, k, v, o, s, l, opts, lse);
            return o;
        }
        var oFull = Run(full, out var lFull);
        var oA = Run(even, out var lA);
        var oB = Run(odd, out var lB);

        var merged = new float[s.QueryElements];
        var lMerged = new float[s.LogSumExpElements];
        SparseAttention.MergeStates(oA, lA, oB, lB, merged, lMerged, s, format);

        Assert.True(TestData.RelativeError(merged, oFull) <= Tolerances.RoundedOnceRelative, $"rel err {TestData.RelativeError(merged, oFull)}");
        Assert.True(TestData.MaxLseError(lMerged, lFull) <= Tolerances.LogSumExp);

        // In place: the output may be the first input.
        SparseAttention.MergeStates(oA, lA, oB, lB, oA, lA, s, format);
        Assert.Equal(merged, oA);
        Assert.Equal(lMerged, lA);
    }

    [Fact]
    public void BothEmptyGivesZeroAndMinusInfinity()
    {
        var s = new AttentionShape(1, 1, 1, 2, 2, 8);
        var o = Enumerable.Repeat(3f, 16).ToArray();
        var l = new[] { float.NegativeInfinity, 0.5f };
        var l2 = new[] { float.NegativeInfinity, float.NegativeInfinity };
        var res = new float[16];
        var lr = new float[2];
        SparseAttention.MergeStates(o, l, o, l2, res, lr, s);
        Assert.Equal(float.NegativeInfinity, lr[0]);
        Assert.All(res.AsSpan(0, 8).ToArray(), x => Assert.Equal(0f, x));
        Assert.Equal(0.5f, lr[1], 6);
        Assert.All(res.AsSpan(8, 8).ToArray(), x => Assert.Equal(3f, x));
    }

    [Fact]
    public void NaNLogSumExpIsRejected()
    {
        var s = new AttentionShape(1, 1, 1, 1, 1, 8);
        var o = new float[8];
        var ex = Assert.Throws<ArgumentException>(() =>
            SparseAttention.MergeStates(o, [float.NaN], o, [0f], new float[8], new float[1], s));
        Assert.Equal("logSumExpA", ex.ParamName);
    }
}
