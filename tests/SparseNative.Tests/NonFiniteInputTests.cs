using SparseNative.Tests.Kernels;
using Xunit;

namespace SparseNative.Tests;

/// <summary>
/// NaN and ±∞ in Q, K or V with <see cref="AttentionOptions.CheckFinite"/> = false, on every CPU backend: what
/// docs/SEMANTICS.md ("Bad input") promises. The call completes and writes every element of its outputs; the rows that
/// read the value are unspecified (they may be NaN); every other row is bitwise what it is without the value. A value in
/// batch 0's key/value head 0 is read only by batch 0's query heads 0 and 1 (that head's group), one in batch 0's query
/// head 1 only by that head (in the forward; its gradients reach key/value head 0), so every other head is checked.
/// </summary>
public class NonFiniteInputTests
{
    private static readonly AttentionShape S = new(2, 4, 2, 37, 53, 16);
    private static readonly BlockLayout L = TestData.RandomLayout(16, 3, 4, 2, 0.8, 11);
    private const float Unwritten = 12345f;

    private static readonly Backend[] CpuBackends = [Backend.Reference, .. KernelCheck.SimdBackends, Backend.NativeCpu];

    public static TheoryData<Backend, TensorFormat> Cases()
    {
        var data = new TheoryData<Backend, TensorFormat>();
        foreach (var b in CpuBackends)
            foreach (var f in new[] { TensorFormat.Bhsd, TensorFormat.Bshd })
                data.Add(b, f);
        return data;
    }

    private static readonly float[] Values = [float.NaN, float.PositiveInfinity, float.NegativeInfinity];

    /// <summary>Where (batch 0) each tensor gets its non-finite value: query head 1 token 5, key/value head 0 tokens 33 and 50.</summary>
    private static (string Tensor, int Head, int Token, int Channel)[] Places => [("query", 1, 5, 3), ("key", 0, 33, 1), ("value", 0, 50, 7)];

    private static long Index(TensorFormat f, int heads, int length, int b, int h, int t, int c) => f == TensorFormat.Bhsd
        ? (((long)b * heads + h) * length + t) * S.HeadDim + c
        : (((long)b * length + t) * heads + h) * S.HeadDim + c;

    /// <summary>Whether a (batch, query head) does not read key/value head 0 of batch 0.</summary>
    private static bool Clean(int b, int queryHead) => b == 1 || queryHead / S.GroupSize != 0;

    /// <summary>The forward's rows that do not read the value: a query value is read by its own head only.</summary>
    private static Func<int, int, bool> CleanForward(string tensor) => tensor == "query" ? (b, h) => b == 1 || h != 1 : Clean;

    private static (float[] O, float[] Lse) Forward(Backend backend, TensorFormat f, float[] q, float[] k, float[] v, int splits = 0)
    {
        var o = Enumerable.Repeat(Unwritten, (int)S.QueryElements).ToArray();
        var lse = Enumerable.Repeat(Unwritten, (int)S.LogSumExpElements).ToArray();
        var options = new AttentionOptions { Backend = backend, Format = f, CheckFinite = false, MaxThreads = 2 };
        var ran = splits == 0
            ? SparseAttention.Forward(q, k, v, o, S, L, options, lse)
            : SparseAttention.ForwardSplitKeys(q, k, v, o, S, L, options, lse, splits);
        Assert.Equal(backend, ran);
        return (o, lse);
    }

    private static float[][] Poisoned(TensorFormat f, float value, string tensor, int head, int token, int channel)
    {
        var (q, k, v) = TestData.Qkv(S, 5);
        var x = tensor switch { "query" => q, "key" => k, _ => v };
        x[Index(f, tensor == "query" ? S.QueryHeads : S.KeyValueHeads, tensor == "query" ? S.QueryLength : S.KeyLength, 0, head, token, channel)] = value;
        return [q, k, v];
    }

    private static void AssertCleanRowsUnchanged(TensorFormat f, float[] expected, float[] actual, int heads, int length,
        Func<int, int, bool> clean, string what)
    {
        Assert.DoesNotContain(Unwritten, actual);
        for (int b = 0; b < S.Batch; b++)
            for (int h = 0; h < heads; h++)
            {
                if (!clean(b, h)) continue;
                for (int t = 0; t < length; t++)
                    for (int c = 0; c < S.HeadDim; c++)
                    {
                        long i = Index(f, heads, length, b, h, t, c);
                        Assert.True(expected[i].Equals(actual[i]), $"{what}[{i}] (batch {b}, head {h}, token {t}) is {actual[i]}, was {expected[i]}");
                    }
            }
    }

    [Theory, MemberData(nameof(Cases))]
    public void Forward_completes_writes_everything_and_leaves_the_rows_that_do_not_read_the_value_unchanged(Backend backend, TensorFormat format)
    {
        KernelCheck.SkipIfUnavailable(backend);
        var (q, k, v) = TestData.Qkv(S, 5);
        var (cleanO, cleanLse) = Forward(backend, format, q, k, v);
        foreach (float value in Values)
            foreach (var (tensor, head, token, channel) in Places)
            {
                var x = Poisoned(format, value, tensor, head, token, channel);
                var (o, lse) = Forward(backend, format, x[0], x[1], x[2]);
                string what = $"{backend} {format}, {value} in {tensor}: output";
                var clean = CleanForward(tensor);
                AssertCleanRowsUnchanged(format, cleanO, o, S.QueryHeads, S.QueryLength, clean, what);
                Assert.DoesNotContain(Unwritten, lse);
                for (int b = 0; b < S.Batch; b++)
                    for (int h = 0; h < S.QueryHeads; h++)
                        if (clean(b, h))
                            Assert.Equal(cleanLse.AsSpan((b * S.QueryHeads + h) * S.QueryLength, S.QueryLength).ToArray(),
                                lse.AsSpan((b * S.QueryHeads + h) * S.QueryLength, S.QueryLength).ToArray());
            }
    }

    [Theory, MemberData(nameof(Cases))]
    public void ForwardSplitKeys_behaves_as_Forward(Backend backend, TensorFormat format)
    {
        KernelCheck.SkipIfUnavailable(backend);
        var (q, k, v) = TestData.Qkv(S, 5);
        var (cleanO, _) = Forward(backend, format, q, k, v, splits: 2);
        foreach (float value in Values)
            foreach (var (tensor, head, token, channel) in Places)
            {
                var x = Poisoned(format, value, tensor, head, token, channel);
                var (o, lse) = Forward(backend, format, x[0], x[1], x[2], splits: 2);
                AssertCleanRowsUnchanged(format, cleanO, o, S.QueryHeads, S.QueryLength, CleanForward(tensor), $"{backend} {format}, {value} in {tensor}: output");
                Assert.DoesNotContain(Unwritten, lse);
            }
    }

    public static TheoryData<Backend> BackwardBackends => new(CpuBackends);

    [Theory, MemberData(nameof(BackwardBackends))]
    public void Backward_completes_writes_every_gradient_and_leaves_the_rest_unchanged(Backend backend)
    {
        KernelCheck.SkipIfUnavailable(backend);
        const TensorFormat f = TensorFormat.Bhsd;
        var dO = TestData.Random(S.QueryElements, 9);
        (float[] DQ, float[] DK, float[] DV) Backward(float[] q, float[] k, float[] v)
        {
            var (o, lse) = Forward(backend, f, q, k, v);
            float[] Fresh(long n) => Enumerable.Repeat(Unwritten, (int)n).ToArray();
            var (dq, dk, dv) = (Fresh(S.QueryElements), Fresh(S.KeyElements), Fresh(S.KeyElements));
            var options = new AttentionOptions { Backend = backend, CheckFinite = false, MaxThreads = 2 };
            Assert.Equal(backend, SparseAttention.Backward(q, k, v, o, lse, dO, dq, dk, dv, S, L, options));
            return (dq, dk, dv);
        }
        var (q0, k0, v0) = TestData.Qkv(S, 5);
        var clean = Backward(q0, k0, v0);
        foreach (float value in Values)
            foreach (var (tensor, head, token, channel) in Places)
            {
                var x = Poisoned(f, value, tensor, head, token, channel);
                var g = Backward(x[0], x[1], x[2]);
                string what = $"{backend}, {value} in {tensor}: ";
                AssertCleanRowsUnchanged(f, clean.DQ, g.DQ, S.QueryHeads, S.QueryLength, Clean, what + "queryGradient");
                AssertCleanRowsUnchanged(f, clean.DK, g.DK, S.KeyValueHeads, S.KeyLength, (b, h) => b == 1 || h != 0, what + "keyGradient");
                AssertCleanRowsUnchanged(f, clean.DV, g.DV, S.KeyValueHeads, S.KeyLength, (b, h) => b == 1 || h != 0, what + "valueGradient");
            }
    }
}
