using SparseNative.Cuda;
using SparseNative.Interop.Cuda;
using Xunit;

namespace SparseNative.Tests.Cuda;

/// <summary>
/// The CUDA backend against the float64 reference on random non-zero data. Every test skips, with the loader's reason, where
/// <c>libsparsenative_cuda</c> or a device is missing; bench/gpu/device-check.sh runs them on a GPU machine.
/// Bounds from <see cref="Tolerances"/>; float16/bfloat16 compare against a reference fed the rounded inputs.
/// </summary>
[Collection(nameof(GlobalDispatcherState))]
public class CudaGpuTests
{
    private static void RequireGpu() =>
        Assert.SkipUnless(CudaAttention.IsAvailable, $"CUDA backend unavailable: {CudaAttention.UnavailableReason}");

    public static TheoryData<int, int, int, int, int, int, bool, bool, int> Problems => new()
    {
        // Hq, Hkv, Lq, Lk, d, block, causal, segments, lists
        { 1, 1, 1, 1, 8, 16, false, false, 1 },
        { 4, 2, 100, 100, 64, 64, true, false, 4 },
        { 3, 1, 257, 130, 24, 32, true, false, 1 },   // Lq > Lk under causal: fully masked rows
        { 2, 2, 130, 500, 128, 128, true, true, 2 },  // decode-like Lk > Lq, segments, tails
        { 2, 1, 200, 200, 136, 16, false, true, 1 },  // generic head dim above 128
        { 2, 2, 96, 96, 256, 32, false, false, 2 },
    };

    [Theory]
    [MemberData(nameof(Problems))]
    public void HostSpanPathMatchesTheReference(int hq, int hkv, int lq, int lk, int d, int bs, bool causal, bool segments, int lists)
    {
        RequireGpu();
        var shape = new AttentionShape(2, hq, hkv, lq, lk, d);
        var layout = TestData.RandomLayout(bs, shape.QueryBlocks(bs), shape.KeyBlocks(bs), lists, 0.6, lq + d);
        foreach (var format in new[] { TensorFormat.Bhsd, TensorFormat.Bshd })
        {
            var options = new AttentionOptions { Causal = causal, Format = format };
            if (segments)
                options = options with
                {
                    QuerySegmentIds = Enumerable.Range(0, 2 * lq).Select(i => (i % lq) * 3 / lq).ToArray(),
                    KeySegmentIds = Enumerable.Range(0, 2 * lk).Select(j => (j % lk) * 3 / lk).ToArray(),
                };
            var (q, k, v) = TestData.Qkv(shape, 11);
            var (expected, expectedLse) = (new float[shape.QueryElements], new float[shape.LogSumExpElements]);
            SparseAttention.Forward(q, k, v, expected, shape, layout, options with { Backend = Backend.Reference }, expectedLse);
            var (o, lse) = (new float[shape.QueryElements], new float[shape.LogSumExpElements]);
            Assert.Equal(Backend.Cuda, SparseAttention.Forward(q, k, v, o, shape, layout, options with { Backend = Backend.Cuda }, lse));
            Assert.True(TestData.RelativeError(o, expected) <= Tolerances.ForwardRelative, $"{format}: rel err {TestData.RelativeError(o, expected):E2}");
            Assert.True(TestData.MaxLseError(lse, expectedLse) <= Tolerances.LogSumExp, $"{format}: lse err {TestData.MaxLseError(lse, expectedLse):E2}");
        }
    }

    public static TheoryData<float, bool> Scales => CudaEmulationTests.Scales;

    /// <summary>The host path (Backend.Cuda) uses a given scale as is: 0 (uniform weights), negative, tiny, large.</summary>
    [Theory]
    [MemberData(nameof(Scales))]
    public void HostSpanPathUsesTheGivenScale(float scale, bool causal)
    {
        RequireGpu();
        var p = CudaEmulationTests.ScaleProblem.Make(scale, causal, 13);
        var (o, lse) = (new float[p.Shape.QueryElements], new float[p.Shape.LogSumExpElements]);
        Assert.Equal(Backend.Cuda, SparseAttention.Forward(p.Q, p.K, p.V, o, p.Shape, p.Layout, p.Options with { Backend = Backend.Cuda }, lse));
        p.AssertMatches(o, lse);
    }

    [Fact]
    public void DevicePathKeepsDataOnTheGpuAndReusesTheLayout()
    {
        RequireGpu();
        var shape = new AttentionShape(1, 4, 2, 300, 300, 64);
        var layout = TestData.RandomLayout(64, 5, 5, 4, 0.5, 21);
        var (q, k, v) = TestData.Qkv(shape, 21);
        var (expected, expectedLse) = (new float[shape.QueryElements], new float[shape.LogSumExpElements]);
        var options = new AttentionOptions { Causal = true };
        SparseAttention.Forward(q, k, v, expected, shape, layout, options with { Backend = Backend.Reference }, expectedLse);

        using var dq = CudaBuffer.FromHost(q);
        using var dk = CudaBuffer.FromHost(k);
        using var dv = CudaBuffer.FromHost(v);
        using var dout = CudaBuffer.Allocate(shape.QueryElements, CudaDataType.Float32);
        using var dlse = CudaBuffer.Allocate(shape.LogSumExpElements, CudaDataType.Float32);
        var first = new float[shape.QueryElements];
        for (int call = 0; call < 2; call++)
        {
            CudaAttention.Forward(dq, dk, dv, dout, shape, layout, options, dlse);
            var o = new float[shape.QueryElements];
            var lse = new float[shape.LogSumExpElements];
            dout.Download(o);
            dlse.Download(lse);
            Assert.True(TestData.RelativeError(o, expected) <= Tolerances.ForwardRelative);
            Assert.True(TestData.MaxLseError(lse, expectedLse) <= Tolerances.LogSumExp);
            if (call == 0) o.CopyTo(first);
            else Assert.Equal(first, o); // same uploaded layout, same result bit for bit
        }
    }

    [Theory]
    [InlineData(CudaDataType.Float16, 64, 64)]
    [InlineData(CudaDataType.Float16, 128, 128)]
    [InlineData(CudaDataType.BFloat16, 128, 64)]
    [InlineData(CudaDataType.BFloat16, 64, 128)]
    public void TensorCorePathMatchesTheReferenceOnRoundedInputs(CudaDataType type, int d, int bs)
    {
        RequireGpu();
        var shape = new AttentionShape(1, 4, 2, 333, 333, d);
        var layout = TestData.RandomLayout(bs, shape.QueryBlocks(bs), shape.KeyBlocks(bs), 2, 0.6, d + bs);
        var (q, k, v) = TestData.Qkv(shape, 31);
        ushort[] qb = Round(q, type), kb = Round(k, type), vb = Round(v, type); // q, k, v now hold the rounded values
        var (expected, expectedLse) = (new float[shape.QueryElements], new float[shape.LogSumExpElements]);
        var options = new AttentionOptions { Causal = true };
        SparseAttention.Forward(q, k, v, expected, shape, layout, options with { Backend = Backend.Reference }, expectedLse);

        using var dq = CudaBuffer.Allocate(qb.Length, type);
        using var dk = CudaBuffer.Allocate(kb.Length, type);
        using var dv = CudaBuffer.Allocate(vb.Length, type);
        using var dout = CudaBuffer.Allocate(shape.QueryElements, type);
        using var dlse = CudaBuffer.Allocate(shape.LogSumExpElements, CudaDataType.Float32);
        dq.UploadBits(qb);
        dk.UploadBits(kb);
        dv.UploadBits(vb);
        CudaAttention.Forward(dq, dk, dv, dout, shape, layout, options, dlse);
        var bits = new ushort[shape.QueryElements];
        dout.DownloadBits(bits);
        var o = bits.Select(b => ToFloat(b, type)).ToArray();
        var lse = new float[shape.LogSumExpElements];
        dlse.Download(lse);
        Assert.True(TestData.RelativeError(o, expected) <= Tolerances.HalfPrecisionRelative, $"rel err {TestData.RelativeError(o, expected):E2}");
        Assert.True(TestData.MaxLseError(lse, expectedLse) <= Tolerances.HalfPrecisionLogSumExp, $"lse err {TestData.MaxLseError(lse, expectedLse):E2}");
    }

    [Fact]
    public void UnsupportedTensorCoreShapesAndMisuseAreRefusedWithReasons()
    {
        RequireGpu();
        var shape = new AttentionShape(1, 1, 1, 64, 64, 96);
        var layout = TestData.RandomLayout(64, 1, 1, 1, 1.0, 1);
        using var b = CudaBuffer.Allocate(shape.QueryElements, CudaDataType.Float16);
        using var o = CudaBuffer.Allocate(shape.QueryElements, CudaDataType.Float16);
        var e = Assert.Throws<BackendUnavailableException>(() => CudaAttention.Forward(b, b, b, o, shape, layout));
        Assert.Contains("head_dim = 96", e.Message);
        Assert.Equal("output", Assert.Throws<ArgumentException>(() => CudaAttention.Forward(b, b, b, b, shape, layout)).ParamName);
        using var f = CudaBuffer.Allocate(shape.QueryElements, CudaDataType.Float32);
        Assert.Equal("key", Assert.Throws<ArgumentException>(() => CudaAttention.Forward(b, f, b, o, shape, layout)).ParamName);
        Assert.Equal("data", Assert.Throws<ArgumentException>(() => f.Upload(new float[3])).ParamName);
        f.Dispose();
        Assert.Throws<ObjectDisposedException>(() => f.Download(new float[shape.QueryElements]));
    }

    private static ushort[] Round(float[] x, CudaDataType type)
    {
        var bits = new ushort[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            bits[i] = type == CudaDataType.Float16 ? BitConverter.HalfToUInt16Bits((Half)x[i]) : ToBFloat16(x[i]);
            x[i] = ToFloat(bits[i], type);
        }
        return bits;
    }

    private static ushort ToBFloat16(float x)
    {
        uint u = BitConverter.SingleToUInt32Bits(x);
        u += 0x7FFFu + ((u >> 16) & 1u); // round to nearest even (inputs are finite)
        return (ushort)(u >> 16);
    }

    private static float ToFloat(ushort bits, CudaDataType type) => type == CudaDataType.Float16
        ? (float)BitConverter.UInt16BitsToHalf(bits)
        : BitConverter.UInt32BitsToSingle((uint)bits << 16);
}
