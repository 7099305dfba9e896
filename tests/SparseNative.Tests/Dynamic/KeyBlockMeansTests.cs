using Xunit;

namespace SparseNative.Tests.Dynamic;

/// <summary><see cref="KeyBlockMeans"/>: a cache built by appends selects exactly what TopK selects from the full keys.</summary>
public class KeyBlockMeansTests
{
    /// <summary>Tokens [t0, t1) of every batch row and head of a full key tensor, as a tensor of its own in the same format.</summary>
    private static float[] Tokens(float[] k, int batch, int heads, int length, int d, int t0, int t1, TensorFormat f)
    {
        int n = t1 - t0;
        var chunk = new float[batch * heads * n * d];
        for (int b = 0; b < batch; b++)
            for (int h = 0; h < heads; h++)
                for (int t = 0; t < n; t++)
                {
                    int from = f == TensorFormat.Bhsd ? ((b * heads + h) * length + t0 + t) * d : ((b * length + t0 + t) * heads + h) * d;
                    int to = f == TensorFormat.Bhsd ? ((b * heads + h) * n + t) * d : ((b * n + t) * heads + h) * d;
                    Array.Copy(k, from, chunk, to, d);
                }
        return chunk;
    }

    [Theory]
    [InlineData(1, 8, 2, 1, TensorFormat.Bhsd, false)]    // decode: one query, GQA 4:1
    [InlineData(2, 4, 4, 16, TensorFormat.Bshd, false)]   // 16 queries, batch 2, BSHD
    [InlineData(1, 6, 2, 3, TensorFormat.Bhsd, true)]     // per K/V group
    public void AppendedCacheSelectsExactlyLikeTheFullKeys(int batch, int hq, int hkv, int lq, TensorFormat format, bool group)
    {
        const int d = 16, block = 16;
        int[] appends = [37, 1, 1, 90, 16, 5, 1]; // prompt, then decode steps, crossing block boundaries
        var cache = new KeyBlockMeans(batch, hkv, d, block);
        int total = appends.Sum();
        var full = TestData.Random((long)batch * hkv * total * d, 11, 2f);
        int length = 0;
        foreach (int n in appends)
        {
            cache.Append(Tokens(full, batch, hkv, total, d, length, length + n, format), n, format);
            length += n;
            var s = new AttentionShape(batch, hq, hkv, lq, length, d);
            var q = TestData.Random(s.QueryElements, length, 2f);
            var o = new TopKOptions { K = 2, Causal = true, Format = format, PerKeyValueGroup = group, KeepLocalWindow = 1 };
            var expected = BlockSelection.TopK(q, Tokens(full, batch, hkv, total, d, 0, length, format), s, block, o);
            Assert.Equal(expected, BlockSelection.TopK(q, cache, s, block, o));
            Assert.Equal(length, cache.Length);
        }
    }

    [Fact]
    public void MismatchesAndBadKeysAreRejected()
    {
        var cache = new KeyBlockMeans(1, 2, 8, 16);
        cache.Append(new float[2 * 20 * 8], 20);
        var q = new float[4 * 8];
        var o = new TopKOptions();
        Assert.Equal("keyMeans", Assert.ThrowsAny<ArgumentException>(() => BlockSelection.TopK(q, cache, new AttentionShape(1, 4, 2, 1, 21, 8), 16, o)).ParamName);
        Assert.Equal("keyMeans", Assert.ThrowsAny<ArgumentException>(() => BlockSelection.TopK(q, cache, new AttentionShape(1, 4, 2, 1, 20, 8), 32, o)).ParamName);
        Assert.Equal("keyMeans", Assert.ThrowsAny<ArgumentException>(() => BlockSelection.TopK(q, cache, new AttentionShape(1, 4, 4, 1, 20, 8), 16, o)).ParamName);
        Assert.Equal("keys", Assert.ThrowsAny<ArgumentException>(() => cache.Append(new float[15], 1)).ParamName);
        var bad = new float[16];
        bad[3] = float.NaN;
        Assert.Equal("keys", Assert.ThrowsAny<ArgumentException>(() => cache.Append(bad, 1)).ParamName);
        Assert.Equal(20, cache.Length); // a rejected append changes nothing
        Assert.Equal("blockSize", Assert.ThrowsAny<ArgumentException>(() => new KeyBlockMeans(1, 1, 8, 12)).ParamName);
    }
}
