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

    public static TheoryData<string, string, string> BadMerges => new()
    {
        { "output-partly-over-outputA", "output", "output overlaps outputA (only the very same memory" },
        { "output-over-logSumExp", "output", "output overlaps logSumExp" },
        { "logSumExp-partly-over-logSumExpB", "logSumExp", "logSumExp overlaps logSumExpB" },
        { "logSumExp-over-outputB", "logSumExp", "logSumExp overlaps outputB" },
        { "format", "format", "not a TensorFormat" },
        { "nan-lse-last-row", "logSumExpB", "logSumExpB[3] = NaN" },
        { "inf-output", "outputA", "outputA[5] = " + float.PositiveInfinity },
    };

    [Theory, MemberData(nameof(BadMerges))]
    public void BadInputIsRejectedBeforeAnythingIsWritten(string fault, string param, string message)
    {
        // One buffer holds everything, so that partial overlaps can be made; a rejected call must leave it untouched.
        var s = new AttentionShape(1, 2, 2, 2, 2, 4);
        int n = (int)s.QueryElements, m = (int)s.LogSumExpElements;
        var all = TestData.Random(4 * n + 4 * m, 7);
        for (int i = 3 * n; i < 3 * n + 3 * m; i++) all[i] = -Math.Abs(all[i]);
        int oA = 0, oB = n, o = 2 * n, lA = 3 * n, lB = 3 * n + m, l = 3 * n + 2 * m; // start of each tensor in all
        var format = TensorFormat.Bhsd;
        switch (fault)
        {
            case "output-partly-over-outputA": o = 1; break;
            case "output-over-logSumExp": l = 2 * n + 3; break;
            case "logSumExp-partly-over-logSumExpB": l = lB + 1; break;
            case "logSumExp-over-outputB": l = n + 2; break;
            case "format": format = (TensorFormat)7; break;
            case "nan-lse-last-row": all[lB + m - 1] = float.NaN; break;
            case "inf-output": all[oA + 5] = float.PositiveInfinity; break;
        }
        var before = all.ToArray();
        var ex = Assert.ThrowsAny<ArgumentException>(() => SparseAttention.MergeStates(all.AsSpan(oA, n), all.AsSpan(lA, m),
            all.AsSpan(oB, n), all.AsSpan(lB, m), all.AsSpan(o, n), all.AsSpan(l, m), s, format));
        Assert.Equal(param, ex.ParamName);
        Assert.Contains(message, ex.Message);
        Assert.Equal(before, all);
    }

    [Fact]
    public void ExactlyInPlaceIsAllowedOnEitherSide()
    {
        var s = new AttentionShape(1, 1, 1, 3, 3, 8);
        var oA = TestData.Random(24, 1); var oB = TestData.Random(24, 2);
        float[] lA = [0.5f, -1f, float.NegativeInfinity], lB = [0.25f, float.NegativeInfinity, 2f];
        var expected = new float[24]; var lExpected = new float[3];
        SparseAttention.MergeStates(oA, lA, oB, lB, expected, lExpected, s);
        SparseAttention.MergeStates(oA, lA, oB, lB, oB, lB, s);
        Assert.Equal(expected, oB);
        Assert.Equal(lExpected, lB);
    }

    [Theory]
    [InlineData("outputA")] [InlineData("logSumExpB")] [InlineData("output")] [InlineData("logSumExp")] [InlineData("shape")]
    public void WrongLengthsAndSizesNameTheArgument(string which)
    {
        var s = which == "shape" ? new AttentionShape(1, 1, 1, 0, 3, 8) : new AttentionShape(1, 1, 1, 3, 3, 8);
        int n = which == "outputA" ? 23 : 24, lb = which == "logSumExpB" ? 4 : 3, o = which == "output" ? 32 : 24, l = which == "logSumExp" ? 2 : 3;
        var ex = Assert.ThrowsAny<ArgumentException>(() => SparseAttention.MergeStates(new float[n], new float[3], new float[24], new float[lb],
            new float[o], new float[l], s));
        Assert.Equal(which, ex.ParamName);
    }
}
