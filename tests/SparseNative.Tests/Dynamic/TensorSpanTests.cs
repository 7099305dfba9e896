using System.Numerics.Tensors;
using Xunit;

namespace SparseNative.Tests.Dynamic;

/// <summary>
/// <see cref="SparseAttention.ForwardTensors"/>: K and V as strided tensor-span views (a preallocated cache sliced to its
/// length, in both formats) equal the plain tensors bit for bit; K/V views of more than int.MaxValue elements run; bad
/// ranks, lengths, strides and overlaps are ArgumentExceptions naming the tensor.
/// </summary>
public class TensorSpanTests
{
    private const int D = 16;

    public static TheoryData<Backend> ManagedBackends() => KeyValueCacheTests.ManagedBackends();

    /// <summary>Plain keys copied into a <paramref name="capacity"/>-token cache (NaN past the keys) and viewed back at their length.</summary>
    private static ReadOnlyTensorSpan<float> CacheView(float[] plain, AttentionShape s, int capacity, TensorFormat f, out float[] cache)
    {
        cache = new float[s.Batch * s.KeyValueHeads * capacity * D];
        Array.Fill(cache, float.NaN);
        var into = KeyValueCache.Preallocated(capacity);
        var from = KeyValueCache.Preallocated(s.KeyLength);
        for (int b = 0; b < s.Batch; b++)
            for (int h = 0; h < s.KeyValueHeads; h++)
                for (int t = 0; t < s.KeyLength; t++)
                    Array.Copy(plain, from.RowOffset(b, h, t, s.KeyValueHeads, D, 0, f), cache, into.RowOffset(b, h, t, s.KeyValueHeads, D, 0, f), D);
        nint hkv = s.KeyValueHeads, cap = capacity;
        return f == TensorFormat.Bhsd
            ? new ReadOnlyTensorSpan<float>(cache, [s.Batch, hkv, s.KeyLength, D], [hkv * cap * D, cap * D, D, 1])
            : new ReadOnlyTensorSpan<float>(cache, [s.Batch, s.KeyLength, hkv, D], [cap * hkv * D, hkv * D, D, 1]);
    }

    private static nint[] Dims(AttentionShape s, int heads, int length, TensorFormat f) =>
        f == TensorFormat.Bhsd ? [s.Batch, heads, length, s.HeadDim] : [s.Batch, length, heads, s.HeadDim];

    [Theory]
    [MemberData(nameof(ManagedBackends))]
    public void AStridedCacheViewEqualsThePlainTensorsBitForBit(Backend backend)
    {
        foreach (var f in new[] { TensorFormat.Bhsd, TensorFormat.Bshd })
            foreach (int lq in new[] { 1, 40 })
            {
                var s = new AttentionShape(2, 4, 2, lq, 300 + lq, D);
                var layout = TestData.RandomLayout(16, s.QueryBlocks(16), s.KeyBlocks(16), 1, 0.8, seed: lq).WithCausal(true);
                var (q, k, v) = TestData.Qkv(s, lq);
                var options = new AttentionOptions { Backend = backend, Format = f, MaxThreads = 2 };
                var expected = new float[s.QueryElements];
                var lse = new float[s.LogSumExpElements];
                SparseAttention.Forward(q, k, v, expected, s, layout, options, lse);

                var kView = CacheView(k, s, s.KeyLength + 50, f, out _);
                var vView = CacheView(v, s, s.KeyLength + 50, f, out _);
                var o = new float[s.QueryElements];
                var lse2 = new float[s.LogSumExpElements];
                var ran = SparseAttention.ForwardTensors(new ReadOnlyTensorSpan<float>(q, Dims(s, s.QueryHeads, lq, f)), kView, vView,
                    new TensorSpan<float>(o, Dims(s, s.QueryHeads, lq, f)), layout, options, lse2);
                Assert.Equal(backend, ran);
                Assert.Equal(expected, o);
                Assert.Equal(lse, lse2);
            }
    }

    [Fact]
    public void KeysAboveTwoToTheThirtyOneElementsRun()
    {
        // 2²⁴ + 1 tokens × d 128 = 2³¹ + 128 elements per tensor, over one stored row (token stride 0): every key and value
        // is the same row, so every output row is that value row. What this covers is the element count (past int.MaxValue,
        // no span) and long loops over 16M keys; the offsets themselves stay small (memory for 8 GiB tensors is not assumed).
        const int d = 128, tokens = (1 << 24) + 1;
        var row = TestData.Random(d, 1);
        var vRow = new float[d];
        Array.Fill(vRow, 1f);
        var kView = new ReadOnlyTensorSpan<float>(row, [1, 1, tokens, d], [0, 0, 0, 1]);
        var vView = new ReadOnlyTensorSpan<float>(vRow, [1, 1, tokens, d], [0, 0, 0, 1]);
        Assert.True(kView.FlattenedLength > int.MaxValue);
        var q = TestData.Random(4 * d, 2);
        var o = new float[4 * d];
        var lse = new float[4];
        var layout = BlockPatterns.Dense(1, 128, tokens);
        SparseAttention.ForwardTensors(new ReadOnlyTensorSpan<float>(q, [1, 4, 1, d]), kView, vView, new TensorSpan<float>(o, [1, 4, 1, d]),
            layout, new AttentionOptions { Causal = true }, lse);
        Assert.All(o, x => Assert.Equal(1f, x, 1e-5f));
        for (int h = 0; h < 4; h++)
        {
            double score = 0;
            for (int c = 0; c < d; c++) score += (double)q[h * d + c] * row[c];
            Assert.Equal(score / Math.Sqrt(d) + Math.Log(tokens), lse[h], 1e-3);
        }
    }

    [Fact]
    public void BadTensorsAreArgumentExceptionsNamingThem()
    {
        var s = new AttentionShape(1, 2, 1, 1, 20, D);
        var q = new float[s.QueryElements];
        var kv = TestData.Random(80 * D, 1);
        var layout = BlockPatterns.Dense(1, 16, 20);
        ReadOnlyTensorSpan<float> Q() => new(q, [1, 2, 1, D]);
        var kv20 = TestData.Random(20 * D, 3);
        ReadOnlyTensorSpan<float> K() => new(kv20, [1, 1, 20, D]);
        void Expect(string name, Action call)
        {
            var e = Assert.ThrowsAny<ArgumentException>(call);
            Assert.True(name == e.ParamName, $"expected {name}, got {e.ParamName}: {e}");
        }

        var o = new float[s.QueryElements];
        Expect("query", () => SparseAttention.ForwardTensors(new ReadOnlyTensorSpan<float>(q, [2, 1, D]), K(), K(), new TensorSpan<float>(o, [1, 2, 1, D]), layout));
        Expect("value", () => SparseAttention.ForwardTensors(Q(), K(), new ReadOnlyTensorSpan<float>(kv, [1, 1, 20, D], [0, 0, 2 * D, 1]),
            new TensorSpan<float>(o, [1, 2, 1, D]), layout));
        Expect("key", () => SparseAttention.ForwardTensors(Q(), new ReadOnlyTensorSpan<float>(kv, [1, 1, 20, D], [0, 0, 2 * D, 2]),
            new ReadOnlyTensorSpan<float>(kv, [1, 1, 20, D], [0, 0, 2 * D, 2]), new TensorSpan<float>(o, [1, 2, 1, D]), layout));
        Expect("output", () => SparseAttention.ForwardTensors(Q(), K(), K(), new TensorSpan<float>(kv20, [1, 2, 1, D]), layout));
        Expect("key", () => SparseAttention.ForwardTensors(Q(), new ReadOnlyTensorSpan<float>(kv, [1, 1, 20, 8]), new ReadOnlyTensorSpan<float>(kv, [1, 1, 20, 8]),
            new TensorSpan<float>(o, [1, 2, 1, D]), layout));
        kv20[3 * D] = float.NaN;
        Expect("key", () => SparseAttention.ForwardTensors(Q(), K(), K(), new TensorSpan<float>(o, [1, 2, 1, D]), layout));
    }
}
