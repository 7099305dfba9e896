using SparseNative.Tests.Kernels;
using Xunit;

namespace SparseNative.Tests.Backward;

/// <summary>Runs the forward and the backward of one <see cref="KernelCheck.Case"/> through a forced backend.</summary>
internal static class BackwardCheck
{
    public sealed record Gradients(float[] Query, float[] Key, float[] Value);

    public sealed record Inputs(float[] Query, float[] Key, float[] Value, float[] OutputGradient);

    /// <summary>Random Q, K, V (in [−1.5, 1.5)) and dO (in [−1, 1)), never zero, from the case's seed.</summary>
    public static Inputs RandomInputs(KernelCheck.Case c, float scale = 1.5f)
    {
        var (q, k, v) = TestData.Qkv(c.Shape, c.Seed, scale);
        return new(q, k, v, TestData.Random(c.Shape.QueryElements, c.Seed + 3));
    }

    public static AttentionOptions Options(KernelCheck.Case c, Backend backend, int threads) => new()
    {
        Backend = backend, Causal = c.Causal, Format = c.Format, Scale = c.Scale, MaxThreads = threads,
        QuerySegmentIds = c.QuerySegments, KeySegmentIds = c.KeySegments,
    };

    /// <summary>Forward then backward on <paramref name="backend"/>; the gradient buffers start as NaN to prove every element is written.</summary>
    public static Gradients Run(Backend backend, KernelCheck.Case c, Inputs x, int threads = 0)
    {
        var s = c.Shape;
        var options = Options(c, backend, threads);
        var o = new float[s.QueryElements];
        var lse = new float[s.LogSumExpElements];
        Assert.Equal(backend, SparseAttention.Forward(x.Query, x.Key, x.Value, o, s, c.Layout, options, lse));
        var g = new Gradients(NaNs(s.QueryElements), NaNs(s.KeyElements), NaNs(s.KeyElements));
        var ran = SparseAttention.Backward(x.Query, x.Key, x.Value, o, lse, x.OutputGradient, g.Query, g.Key, g.Value, s, c.Layout, options);
        Assert.Equal(backend, ran);
        return g;
    }

    private static float[] NaNs(long n)
    {
        var a = new float[n];
        Array.Fill(a, float.NaN);
        return a;
    }
}
