using SparseNative.Tests.Kernels;
using Xunit;
using static SparseNative.Tests.Kernels.HalfPrecision;

namespace SparseNative.Tests;

/// <summary>The half-precision overload goes through the same validation as the float32 one, with its own element scans.</summary>
public class HalfPrecisionValidationTests
{
    private static readonly AttentionShape S = new(1, 2, 1, 40, 40, 16);
    private static readonly BlockLayout L = TestData.RandomLayout(16, 3, 3, 1, 1.0, 1);

    private static (Array Q, Array K, Array V) Inputs(Element qo, Element kv)
    {
        var (q, k, v) = TestData.Qkv(S, 2);
        return (Narrow(q, qo), Narrow(k, kv), Narrow(v, kv));
    }

    public static TheoryData<Element, Element, string> NonFinitePlaces()
    {
        var data = new TheoryData<Element, Element, string>();
        foreach (var (qo, kv) in Combinations)
            foreach (var tensor in new[] { "query", "key", "value" })
                data.Add(qo, kv, tensor);
        return data;
    }

    private static void Set(Array x, int i, float value)
    {
        switch (x)
        {
            case float[] f: f[i] = value; break;
            case Half[] h: h[i] = (Half)value; break;
            case BFloat16[] b: b[i] = (BFloat16)value; break;
        }
    }

    [Theory]
    [MemberData(nameof(NonFinitePlaces))]
    public void NaNAndInfinityAreFoundInEveryElementType(Element qo, Element kv, string tensor)
    {
        foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
        {
            var (q, k, v) = Inputs(qo, kv);
            int at = 16 * 21 + 5;
            Set(tensor == "query" ? q : tensor == "key" ? k : v, at, bad);
            var o = NaNs(S.QueryElements, qo);
            var e = Assert.ThrowsAny<ArgumentException>(() => Forward(q, k, v, o, S, L, AttentionOptions.Default, new float[S.LogSumExpElements]));
            Assert.Equal(tensor, e.ParamName);
            Assert.Contains($"{tensor}[{at}] (token row 21, feature 5)", e.Message);

            // Checking off: the call runs (the rows that read the value are unspecified).
            Forward(q, k, v, o, S, L, new AttentionOptions { CheckFinite = false }, new float[S.LogSumExpElements]);
        }
    }

    [Fact]
    public void TheRangeBoundHoldsForBFloat16Magnitudes()
    {
        // bfloat16 reaches float32's range: a finite query and key whose scores overflow float32 are refused as in float32.
        var (q, k, v) = Inputs(Element.BF16, Element.BF16);
        Set(q, 3, 1e30f);
        Set(k, 7, 1e30f);
        var e = Assert.ThrowsAny<ArgumentException>(() =>
            Forward(q, k, v, NaNs(S.QueryElements, Element.BF16), S, L, AttentionOptions.Default, new float[S.LogSumExpElements]));
        Assert.Equal("query", e.ParamName);
        Assert.Contains("overflow float32", e.Message);
    }

    [Fact]
    public void LengthsAndOverlapsAreCheckedInElements()
    {
        var (q, k, v) = Inputs(Element.F16, Element.F16);
        var e = Assert.Throws<ArgumentException>(() => SparseAttention.Forward<Half, Half>(((Half[])q).AsSpan(1), (Half[])k, (Half[])v,
            new Half[S.QueryElements], S, L));
        Assert.Equal("query", e.ParamName);
        Assert.Contains($"{S.QueryElements - 1} elements", e.Message);

        var shared = new Half[S.QueryElements * 2];
        ((Half[])q).CopyTo(shared, 0);
        e = Assert.Throws<ArgumentException>(() => SparseAttention.Forward<Half, Half>(shared.AsSpan(0, (int)S.QueryElements), (Half[])k,
            (Half[])v, shared.AsSpan(8, (int)S.QueryElements), S, L));
        Assert.Equal("output", e.ParamName);
    }

    [Fact]
    public void OtherElementTypesAreRefusedByName()
    {
        var q = new double[S.QueryElements];
        var e = Assert.Throws<ArgumentException>(() => SparseAttention.Forward<double, Half>(q, new Half[S.KeyElements],
            new Half[S.KeyElements], new double[S.QueryElements], S, L));
        Assert.Equal("query", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => SparseAttention.Forward<float, short>(new float[S.QueryElements], new short[S.KeyElements],
            new short[S.KeyElements], new float[S.QueryElements], S, L));
        Assert.Equal("key", e.ParamName);
    }

    [Fact]
    public void AFloat32OnlyBackendIsRefusedWithItsReason()
    {
        // The CUDA backend's host-span path takes float32 only: the dispatcher asks before anything runs.
        var cuda = Dispatch.BackendRegistry.Get(Backend.Cuda);
        Assert.NotNull(cuda);
        Assert.False(cuda.SupportsTypes(new SparseNative.Elements.TensorTypes(SparseNative.Elements.ElementType.Float32, SparseNative.Elements.ElementType.BFloat16), out var why));
        Assert.Contains("bf16", why);
        Assert.True(cuda.SupportsTypes(SparseNative.Elements.TensorTypes.AllFloat32, out _));
        if (SparseAttention.Backends.Single(b => b.Backend == Backend.Cuda).IsAvailable)
        {
            var (q, k, v) = Inputs(Element.F32, Element.BF16);
            var e = Assert.Throws<BackendUnavailableException>(() =>
                Forward(q, k, v, NaNs(S.QueryElements, Element.F32), S, L, new AttentionOptions { Backend = Backend.Cuda }, new float[S.LogSumExpElements]));
            Assert.Contains("bf16", e.Message);
        }
    }
}
