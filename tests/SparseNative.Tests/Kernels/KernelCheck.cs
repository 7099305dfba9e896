using Xunit;

namespace SparseNative.Tests.Kernels;

/// <summary>Runs one problem through a forced backend and through the float64 reference, and compares them.</summary>
internal static class KernelCheck
{
    public static readonly Backend[] SimdBackends = [Backend.Avx512, Backend.Avx2, Backend.Neon, Backend.Portable];

    /// <summary>Skips the calling test, with the backend's own reason, when the backend cannot run on this machine.</summary>
    public static void SkipIfUnavailable(Backend backend)
    {
        var info = SparseAttention.Backends.Single(b => b.Backend == backend);
        if (!info.IsAvailable) Assert.Skip($"{backend} is unavailable here: {info.Reason}");
    }

    public sealed record Case(AttentionShape Shape, BlockLayout Layout, bool Causal = false, TensorFormat Format = TensorFormat.Bhsd,
        int[]? QuerySegments = null, int[]? KeySegments = null, float? Scale = null, int Seed = 1);

    /// <summary>Forces <paramref name="backend"/> and checks output and LSE against <see cref="Backend.Reference"/>.</summary>
    public static (float[] Output, float[] Lse) AgainstReference(Backend backend, Case c, int threads = 0)
    {
        var s = c.Shape;
        var (q, k, v) = TestData.Qkv(s, c.Seed, scale: 1.5f);
        var (o, lse) = Run(backend, c, q, k, v, threads);
        var (eo, el) = Run(Backend.Reference, c, q, k, v, threads: 0);
        double err = TestData.RelativeError(o, eo), lerr = TestData.MaxLseError(lse, el);
        Assert.True(err <= Tolerances.ForwardRelative, $"{backend}: output relative error {err:E2} > {Tolerances.ForwardRelative:E0} for {Describe(c)}");
        Assert.True(lerr <= Tolerances.LogSumExp, $"{backend}: LSE max error {lerr:E2} > {Tolerances.LogSumExp:E0} for {Describe(c)}");
        return (o, lse);
    }

    public static (float[] Output, float[] Lse) Run(Backend backend, Case c, float[] q, float[] k, float[] v, int threads)
    {
        var s = c.Shape;
        var o = new float[s.QueryElements];
        Array.Fill(o, float.NaN); // proves every element is written
        var lse = new float[s.LogSumExpElements];
        Array.Fill(lse, float.NaN);
        var opts = new AttentionOptions
        {
            Backend = backend, Causal = c.Causal, Format = c.Format, Scale = c.Scale, MaxThreads = threads,
            QuerySegmentIds = c.QuerySegments, KeySegmentIds = c.KeySegments,
        };
        var ran = SparseAttention.Forward(q, k, v, o, s, c.Layout, opts, lse);
        if (backend != Backend.Auto) Assert.Equal(backend, ran);
        return (o, lse);
    }

    public static string Describe(Case c) =>
        $"{c.Shape}, block {c.Layout.BlockSize}, {c.Layout.LayoutCount} list(s), density {c.Layout.Density:P0}, causal {c.Causal}, " +
        $"{c.Format}{(c.QuerySegments is null ? "" : ", segment ids")}";

    /// <summary>A random layout for the shape (some rows empty at low density).</summary>
    public static BlockLayout Layout(AttentionShape s, int block, int lists, double density, int seed) =>
        TestData.RandomLayout(block, s.QueryBlocks(block), s.KeyBlocks(block), lists, density, seed);
}
