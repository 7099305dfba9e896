using SparseNative.Cuda;
using Xunit;

namespace SparseNative.Tests.Cuda;

/// <summary>
/// <see cref="SparseAttention.Backward"/> with <see cref="Backend.Cuda"/> against the float64 reference backward on random non-zero
/// data (GQA, causal cross, segments, tails, both formats). Skips, with the loader's reason, where the CUDA library or a device
/// is missing; runs on the CPU emulation with SPARSENATIVE_CUDA_PATH=build/native/testlib/libsparsenative_cuda_emu.so.
/// </summary>
[Collection(nameof(GlobalDispatcherState))]
public class CudaBackwardTests
{
    private static void RequireGpu() =>
        Assert.SkipUnless(CudaAttention.IsAvailable, $"CUDA backend unavailable: {CudaAttention.UnavailableReason}");

    [Theory]
    // Hq, Hkv, Lq, Lk, d, block, causal, segments
    [InlineData(4, 2, 45, 77, 24, 32, true, false)]
    [InlineData(3, 1, 77, 45, 40, 16, true, true)]
    [InlineData(2, 2, 70, 70, 136, 64, false, true)]
    public void GradientsMatchTheReference(int hq, int hkv, int lq, int lk, int d, int bs, bool causal, bool segments)
    {
        RequireGpu();
        var shape = new AttentionShape(2, hq, hkv, lq, lk, d);
        var layout = TestData.RandomLayout(bs, shape.QueryBlocks(bs), shape.KeyBlocks(bs), 1, 0.7, lq + d);
        foreach (var format in new[] { TensorFormat.Bhsd, TensorFormat.Bshd })
        {
            var options = new AttentionOptions { Causal = causal, Format = format, Scale = 0.3f };
            if (segments)
                options = options with
                {
                    QuerySegmentIds = Enumerable.Range(0, 2 * lq).Select(i => (i % lq) * 3 / lq).ToArray(),
                    KeySegmentIds = Enumerable.Range(0, 2 * lk).Select(j => (j % lk) * 3 / lk).ToArray(),
                };
            var (q, k, v) = TestData.Qkv(shape, 5);
            var dout = TestData.Random(shape.QueryElements, 9);
            var (o, lse) = (new float[shape.QueryElements], new float[shape.LogSumExpElements]);
            SparseAttention.Forward(q, k, v, o, shape, layout, options with { Backend = Backend.Reference }, lse);

            float[][] Run(Backend backend)
            {
                var g = new[] { new float[shape.QueryElements], new float[shape.KeyElements], new float[shape.KeyElements] };
                Assert.Equal(backend, SparseAttention.Backward(q, k, v, o, lse, dout, g[0], g[1], g[2], shape, layout,
                    options with { Backend = backend }));
                return g;
            }
            var expected = Run(Backend.Reference);
            var actual = Run(Backend.Cuda);
            for (int t = 0; t < 3; ++t)
            {
                double num = 0, den = 0;
                for (int i = 0; i < expected[t].Length; ++i)
                {
                    double diff = (double)actual[t][i] - expected[t][i];
                    num += diff * diff;
                    den += (double)expected[t][i] * expected[t][i];
                }
                Assert.True(den > 0, $"gradient {t} of the reference is all zero: the case tests nothing");
                Assert.True(Math.Sqrt(num / den) <= 1e-4, $"{format} gradient {t}: relative error {Math.Sqrt(num / den)}");
            }
        }
    }

    [Fact]
    public void AShortLogSumExpIsNamedBeforeAnyCopy()
    {
        RequireGpu();
        var shape = new AttentionShape(1, 2, 2, 40, 40, 16);
        var layout = TestData.RandomLayout(16, 3, 3, 1, 1.0, 1);
        var (q, k, v) = TestData.Qkv(shape, 1);
        var (o, lse) = (new float[shape.QueryElements], new float[shape.LogSumExpElements]);
        var options = new AttentionOptions { Backend = Backend.Cuda };
        SparseAttention.Forward(q, k, v, o, shape, layout, options, lse);
        var ex = Assert.ThrowsAny<ArgumentException>(() => SparseAttention.Backward(q, k, v, o, new float[3], o, new float[q.Length],
            new float[k.Length], new float[k.Length], shape, layout, options));
        Assert.Contains("logSumExp", ex.Message);
    }
}
