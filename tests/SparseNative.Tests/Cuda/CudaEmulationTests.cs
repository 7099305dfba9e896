using System.Runtime.InteropServices;
using SparseNative.Cuda;
using SparseNative.Interop.Cuda;
using Xunit;

namespace SparseNative.Tests.Cuda;

/// <summary>
/// The managed CUDA bindings end to end against <c>libsparsenative_cuda_emu</c>: the real host API and kernel sources built
/// for the CPU emulation (native/cuda/emu, CMake target sparsenative_cuda_emu, in build/native/testlib). This checks the
/// struct mirrors, function-pointer signatures, buffers, layout upload and error mapping without a GPU. Skips (saying how to
/// build it) when the native tree has not been built.
/// </summary>
[Collection(nameof(GlobalDispatcherState))]
public class CudaEmulationTests
{
    internal static string? FindEmulatedLibrary()
    {
        if (Environment.GetEnvironmentVariable("SPARSENATIVE_CUDA_EMULATION_LIBRARY") is { Length: > 0 } explicitPath) return explicitPath;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "build", "native", "testlib", "libsparsenative_cuda_emu.so");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    private static string RequireEmulatedLibrary()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the emulated library is built on Linux");
        string? path = FindEmulatedLibrary();
        Assert.SkipWhen(path is null,
            "libsparsenative_cuda_emu.so not built: cmake -S . -B build/native && cmake --build build/native --target sparsenative_cuda_emu");
        return path!;
    }

    [DllImport("libc", EntryPoint = "setenv")]
    private static extern int SetNativeEnvironment(string name, string value, int overwrite);

    [DllImport("libc", EntryPoint = "unsetenv")]
    private static extern int UnsetNativeEnvironment(string name);

    /// <summary>Uploads q, k, v, runs the device path of <paramref name="lib"/> and downloads out and lse.</summary>
    private static (float[] O, float[] Lse) RunDevicePath(SparseNativeCudaLibrary lib, float[] q, float[] k, float[] v,
                                                         AttentionShape shape, BlockLayout layout, AttentionOptions options)
    {
        using var dq = CudaBuffer.Allocate(lib, q.Length, CudaDataType.Float32);
        using var dk = CudaBuffer.Allocate(lib, k.Length, CudaDataType.Float32);
        using var dv = CudaBuffer.Allocate(lib, v.Length, CudaDataType.Float32);
        using var dout = CudaBuffer.Allocate(lib, shape.QueryElements, CudaDataType.Float32);
        using var dlse = CudaBuffer.Allocate(lib, shape.LogSumExpElements, CudaDataType.Float32);
        dq.Upload(q);
        dk.Upload(k);
        dv.Upload(v);
        CudaAttention.ForwardWith(lib, dq, dk, dv, dout, shape, layout, options, dlse);
        var (o, lse) = (new float[shape.QueryElements], new float[shape.LogSumExpElements]);
        dout.Download(o);
        dlse.Download(lse);
        return (o, lse);
    }

    [Fact]
    public void TheEmulatedLibraryLoadsAndReportsItsDevice()
    {
        string path = RequireEmulatedLibrary();
        var lib = SparseNativeCudaLibrary.Open(path);
        Assert.Null(lib.UnavailableReason);
        Assert.Equal(path, lib.LoadedFrom);
        Assert.Equal("CPU emulation (sm_80, 1 SMs)", lib.DeviceName);
        Assert.Contains($"abi={SparseNativeCudaLibrary.ExpectedAbiVersion}", lib.BuildInfo());
    }

    [Fact]
    public void NoDeviceIsReportedWithTheRuntimesReason()
    {
        string path = RequireEmulatedLibrary();
        // .NET's Environment.SetEnvironmentVariable does not reach native getenv on Unix: set it in libc.
        SetNativeEnvironment("SNC_EMU_DEVICES", "0", 1);
        try
        {
            var lib = SparseNativeCudaLibrary.Open(path);
            Assert.Equal("no CUDA device (cudaGetDeviceCount: no CUDA-capable device is detected (cudaErrorNoDevice)); " +
                         $"{SparseNativeCudaLibrary.FileName} loaded from {path}", lib.UnavailableReason);
            var e = Assert.Throws<BackendUnavailableException>(() => CudaBuffer.Allocate(lib, 4, CudaDataType.Float32));
            Assert.Contains("no CUDA device", e.Message);
        }
        finally { UnsetNativeEnvironment("SNC_EMU_DEVICES"); }
    }

    [Fact]
    public void DevicePathThroughTheBindingsMatchesTheReference()
    {
        var lib = SparseNativeCudaLibrary.Open(RequireEmulatedLibrary());
        var shape = new AttentionShape(1, 2, 1, 70, 90, 16);
        var layout = TestData.RandomLayout(32, 3, 3, 2, 0.7, 5);
        var (q, k, v) = TestData.Qkv(shape, 5);
        var options = new AttentionOptions { Causal = true, Format = TensorFormat.Bshd };
        var (expected, expectedLse) = (new float[shape.QueryElements], new float[shape.LogSumExpElements]);
        SparseAttention.Forward(q, k, v, expected, shape, layout, options with { Backend = Backend.Reference }, expectedLse);

        var (o, lse) = RunDevicePath(lib, q, k, v, shape, layout, options);
        Assert.True(TestData.RelativeError(o, expected) <= Tolerances.ForwardRelative, $"rel err {TestData.RelativeError(o, expected):E2}");
        Assert.True(TestData.MaxLseError(lse, expectedLse) <= Tolerances.LogSumExp);

        // A causal layout turns the token causal mask on by itself (no AttentionOptions.Causal) on the device path too.
        var causalLayout = BlockPatterns.Causal(70, 32, keyLength: 90);
        (o, _) = RunDevicePath(lib, q, k, v, shape, causalLayout, options with { Causal = false });
        var (expectedCausal, _) = NaiveDense.Run(q, k, v, shape, causalLayout, causal: true, format: TensorFormat.Bshd);
        Assert.True(TestData.RelativeError(o, expectedCausal) <= Tolerances.ForwardRelative, $"causal layout: rel err {TestData.RelativeError(o, expectedCausal):E2}");

        // Bad options meet the same validation as SparseAttention.Forward, with the same exception.
        var unpaired = options with { QuerySegmentIds = new int[shape.QueryLength] };
        var onDevice = Assert.ThrowsAny<ArgumentException>(() => RunDevicePath(lib, q, k, v, shape, layout, unpaired));
        var onHost = Assert.ThrowsAny<ArgumentException>(() => SparseAttention.Forward(q, k, v, o, shape, layout, unpaired));
        Assert.Equal((onHost.GetType(), onHost.ParamName, onHost.Message), (onDevice.GetType(), onDevice.ParamName, onDevice.Message));

        // Errors from the library arrive as the documented exceptions with its message.
        var bad = new AttentionShape(1, 2, 1, 70, 90, 20);
        var badLayout = TestData.RandomLayout(32, 3, 3, 2, 0.7, 6);
        using var b20 = CudaBuffer.Allocate(lib, bad.QueryElements, CudaDataType.Float32);
        using var k20 = CudaBuffer.Allocate(lib, bad.KeyElements, CudaDataType.Float32);
        using var o20 = CudaBuffer.Allocate(lib, bad.QueryElements, CudaDataType.Float32);
        var e = Assert.Throws<BackendUnavailableException>(() => CudaAttention.ForwardWith(lib, b20, k20, k20, o20, bad, badLayout, null, null));
        Assert.Contains("problem->head_dim = 20", e.Message);
    }

    public static TheoryData<float, bool> Scales => new()
    {
        { 0f, false }, { 0f, true }, { -0.3f, false }, { -0.3f, true }, { 1e-3f, false }, { 1e-3f, true }, { 2f, false }, { 2f, true },
    };

    /// <summary>A small GQA causal-cross-capable problem at a given scale, with the reference's answer.</summary>
    internal sealed record ScaleProblem(AttentionShape Shape, BlockLayout Layout, float[] Q, float[] K, float[] V,
                                        AttentionOptions Options, float[] Expected, float[] ExpectedLse)
    {
        public static ScaleProblem Make(float scale, bool causal, int seed)
        {
            var shape = new AttentionShape(1, 2, 1, 40, 60, 16);
            var layout = TestData.RandomLayout(16, 3, 4, 2, 0.7, seed);
            var (q, k, v) = TestData.Qkv(shape, seed + 20, scale: 1.5f);
            var options = new AttentionOptions { Scale = scale, Causal = causal };
            var (expected, expectedLse) = (new float[shape.QueryElements], new float[shape.LogSumExpElements]);
            SparseAttention.Forward(q, k, v, expected, shape, layout, options with { Backend = Backend.Reference }, expectedLse);
            return new(shape, layout, q, k, v, options, expected, expectedLse);
        }

        public void AssertMatches(float[] o, float[] lse)
        {
            string label = $"scale {Options.Scale}, causal {Options.Causal}";
            double err = TestData.RelativeError(o, Expected);
            Assert.True(err <= Tolerances.ForwardRelative, $"{label}: rel err {err:E2}");
            double lseErr = TestData.MaxLseError(lse, ExpectedLse);
            Assert.True(lseErr <= Tolerances.LogSumExp, $"{label}: lse err {lseErr:E2}");
        }
    }

    /// <summary>The device path uses a given scale as is: 0 (uniform weights), negative, tiny, large; causal cross and not.</summary>
    [Theory]
    [MemberData(nameof(Scales))]
    public void DevicePathUsesTheGivenScale(float scale, bool causal)
    {
        var lib = SparseNativeCudaLibrary.Open(RequireEmulatedLibrary());
        var p = ScaleProblem.Make(scale, causal, 9);
        var (o, lse) = RunDevicePath(lib, p.Q, p.K, p.V, p.Shape, p.Layout, p.Options);
        p.AssertMatches(o, lse);
    }
}
