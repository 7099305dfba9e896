using Xunit;

namespace SparseNative.Tests.Dynamic;

/// <summary><see cref="SegmentLayout"/> and <see cref="PackedSequences"/>: the implied layout, and packed attention = per-sequence attention.</summary>
public class PackingTests
{

    /// <summary>Block active iff some token pair in it has equal ids (and is causally allowed) in some batch row: by enumeration.</summary>
    private static bool[,] BruteBlocks(int[] segQ, int[] segK, int batch, int lq, int lk, int block, bool causal)
    {
        var active = new bool[(lq + block - 1) / block, (lk + block - 1) / block];
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < lq; i++)
                for (int j = 0; j < lk; j++)
                    if (segQ[b * lq + i] == segK[b * lk + j] && (!causal || j <= i + lk - lq))
                        active[i / block, j / block] = true;
        return active;
    }

    [Theory]
    [InlineData(1, 100, 100, 16, false, 3)]
    [InlineData(1, 100, 100, 16, true, 5)]
    [InlineData(3, 70, 130, 16, true, 4)]   // cross, batch union
    [InlineData(2, 130, 45, 32, true, 2)]   // Lq > Lk
    [InlineData(2, 257, 257, 64, false, 9)]
    public void LayoutMatchesTokenLevelEnumeration(int batch, int lq, int lk, int block, bool causal, int idRange)
    {
        var rng = new Random(lq * 7 + lk);
        // Runs of equal ids (like packed documents) with random lengths, plus a few scattered ids.
        int[] Ids(int len) => Enumerable.Range(0, batch * len).Select(t => rng.Next(10) == 0 ? rng.Next(idRange) : (t % len) / rng.Next(5, 40)).ToArray();
        var segQ = Ids(lq);
        var segK = Ids(lk);
        var layout = SegmentLayout.FromSegmentIds(segQ, segK, batch, lq, lk, block, causal);
        var expected = BlockLayout.FromDense(BruteBlocks(segQ, segK, batch, lq, lk, block, causal), block).WithCausal(causal);
        Assert.Equal(expected, layout);
    }

    [Fact]
    public void BadSegmentInputIsRejected()
    {
        var ids = new int[64];
        Assert.Equal("querySegmentIds", Assert.ThrowsAny<ArgumentException>(() => SegmentLayout.FromSegmentIds(ids.AsSpan(1), ids, 1, 64, 64, 16, false)).ParamName);
        Assert.Equal("keySegmentIds", Assert.ThrowsAny<ArgumentException>(() => SegmentLayout.FromSegmentIds(ids, ids.AsSpan(3), 1, 64, 64, 16, false)).ParamName);
        Assert.Equal("blockSize", Assert.ThrowsAny<ArgumentException>(() => SegmentLayout.FromSegmentIds(ids, ids, 1, 64, 64, 8, false)).ParamName);
        Assert.Equal("batch", Assert.ThrowsAny<ArgumentException>(() => SegmentLayout.FromSegmentIds(ids, ids, 0, 64, 64, 16, false)).ParamName);
    }

    public static TheoryData<int[], int[], bool, int, int> PackedCases => new()
    {
        // cuSeqlensQ, cuSeqlensK, causal, Hq, Hkv
        { [0, 5, 40, 41, 100], [0, 5, 40, 41, 100], true, 4, 2 },       // odd lengths, a 1-token sequence, GQA
        { [0, 16, 16, 80], [0, 16, 16, 80], false, 2, 2 },              // an empty sequence, block-aligned lengths
        { [0, 3, 20, 77], [0, 50, 51, 130], false, 2, 1 },              // cross attention with different Lq/Lk per sequence, MQA
        { [0, 130], [0, 130], true, 1, 1 },                             // one sequence
    };

    [Theory]
    [MemberData(nameof(PackedCases))]
    public void PackedAttentionEqualsEachSequenceRunOnItsOwn(int[] cuQ, int[] cuK, bool causal, int hq, int hkv)
    {
        const int d = 16, block = 16;
        var packed = PackedSequences.FromCumulativeLengths(cuQ, cuK, block, causal);
        Assert.Equal(cuQ.Length - 1, packed.SequenceCount);
        var s = new AttentionShape(1, hq, hkv, packed.QueryLength, packed.KeyLength, d);
        var (q, k, v) = TestData.Qkv(s, cuQ[^1] + cuK[^1], scale: 2f);
        foreach (var backend in new[] { Backend.Reference, Backend.Auto })
        {
            var o = new float[s.QueryElements];
            var lse = new float[s.LogSumExpElements];
            SparseAttention.Forward(q, k, v, o, s, packed.Layout, new AttentionOptions
            {
                Causal = causal, Backend = backend, QuerySegmentIds = packed.QuerySegmentIds, KeySegmentIds = packed.KeySegmentIds,
            }, lse);

            for (int seq = 0; seq + 1 < cuQ.Length; seq++)
            {
                int lq = cuQ[seq + 1] - cuQ[seq], lk = cuK[seq + 1] - cuK[seq];
                if (lq == 0) continue;
                var one = new AttentionShape(1, hq, hkv, lq, Math.Max(lk, 1), d);
                var qs = TestData.TokenSlice(q, hq, s.QueryLength, cuQ[seq], lq, d);
                var ks = lk == 0 ? new float[one.KeyElements] : TestData.TokenSlice(k, hkv, s.KeyLength, cuK[seq], lk, d);
                var vs = lk == 0 ? new float[one.KeyElements] : TestData.TokenSlice(v, hkv, s.KeyLength, cuK[seq], lk, d);
                var full = BlockLayout.FromPredicate(block, one.QueryBlocks(block), one.KeyBlocks(block), 1, (_, _, _) => lk > 0);
                var (eo, el) = NaiveDense.Run(qs, ks, vs, one, full, causal);
                Assert.True(TestData.RelativeError(TestData.TokenSlice(o, hq, s.QueryLength, cuQ[seq], lq, d), eo) <= Tolerances.Relative(backend), $"{backend} sequence {seq}");
                var lseSeq = new float[hq * lq];
                for (int h = 0; h < hq; h++) Array.Copy(lse, h * s.QueryLength + cuQ[seq], lseSeq, h * lq, lq);
                Assert.True(TestData.MaxLseError(lseSeq, el) <= Tolerances.LogSumExp, $"{backend} sequence {seq} lse");
            }
        }
    }

    [Fact]
    public void CumulativeLengthsAreValidated()
    {
        ArgumentException Bad(int[] q, int[] k, bool causal = false) =>
            Assert.ThrowsAny<ArgumentException>(() => PackedSequences.FromCumulativeLengths(q, k, 16, causal));
        Assert.Contains("start at 0", Bad([1, 5], [0, 5]).Message);
        Assert.Equal("cuSeqlensQ", Bad([1, 5], [0, 5]).ParamName);
        Assert.Contains("decreases at entry 2", Bad([0, 5, 4], [0, 5, 9]).Message);
        Assert.Equal("cuSeqlensK", Bad([0, 5, 9], [0, 5, 4]).ParamName);
        Assert.Equal("cuSeqlensK", Bad([0, 5, 9], [0, 9]).ParamName);      // different sequence counts
        Assert.Contains("cuSeqlensK[1] = 6", Bad([0, 5, 9], [0, 6, 9], causal: true).Message);
        Assert.Contains("no tokens", Bad([0, 0], [0, 0]).Message);
        Assert.Equal("cuSeqlensQ", Bad([0], [0]).ParamName);
        Assert.Equal("blockSize", Assert.ThrowsAny<ArgumentException>(() => PackedSequences.FromCumulativeLengths([0, 4], [0, 4], 48)).ParamName);
    }
}
