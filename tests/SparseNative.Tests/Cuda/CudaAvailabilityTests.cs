using SparseNative.Cuda;
using SparseNative.Interop.Cuda;
using Xunit;

namespace SparseNative.Tests.Cuda;

/// <summary>
/// What the CUDA backend says and does when it cannot run: these run on every machine. The loader is probed with explicit
/// candidate lists so the tests do not depend on whether this machine has the library.
/// </summary>
[Collection(nameof(GlobalDispatcherState))]
public class CudaAvailabilityTests
{
    private static readonly AttentionShape S = new(1, 2, 1, 70, 70, 16);
    private static readonly BlockLayout L = TestData.RandomLayout(32, 3, 3, 1, 0.7, 3);

    [Fact]
    public void AMissingExplicitPathIsTheOnlyAttemptAndIsReported()
    {
        string dir = Path.Combine(Path.GetTempPath(), "sparsenative-no-such-dir");
        string file = Path.Combine(dir, SparseNativeCudaLibrary.FileName);
        var lib = SparseNativeCudaLibrary.Open(file);
        Assert.NotNull(lib.UnavailableReason);
        Assert.StartsWith($"SparseNative could not load {SparseNativeCudaLibrary.FileName}: the library named by SparseNativeCudaLibrary.Open", lib.UnavailableReason);
        Assert.Contains($"{file}: file not found", lib.UnavailableReason);
        Assert.Contains(SparseNativeCudaLibrary.PathEnvironmentVariable, lib.UnavailableReason);
        Assert.Equal(file, Assert.Single(lib.LoadStatus.Attempts).Path);
        Assert.Null(lib.LoadedFrom);
    }

    [Fact]
    public void AFileThatIsNotALibraryIsReportedNotLoaded()
    {
        string path = Path.Combine(Path.GetTempPath(), $"sparsenative-test-{Environment.ProcessId}", SparseNativeCudaLibrary.FileName);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "not an ELF file");
        try
        {
            // A directory holding the platform file name works like the file itself.
            var lib = SparseNativeCudaLibrary.Open(Path.GetDirectoryName(path)!);
            Assert.Contains($"{path}: load failed: ", lib.UnavailableReason);
        }
        finally { Directory.Delete(Path.GetDirectoryName(path)!, recursive: true); }
    }

    [Fact]
    public void ALibraryWithoutTheEntryPointsIsNotMistakenForTheCudaLibrary()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "uses the CPU library as a foreign library");
        string cpu = Path.Combine(SparseNative.Tests.Native.NativeLoadTests.NativeBuildDir, "lib", "libsparsenative.so");
        Assert.SkipUnless(File.Exists(cpu), $"native library not built: {cpu}");
        var lib = SparseNativeCudaLibrary.Open(cpu);
        Assert.Null(lib.LoadedFrom);
        Assert.Contains($"{cpu}: missing export 'snc_", lib.UnavailableReason);
    }

    [Fact]
    public void WithoutAnExplicitPathBothLibrariesProbeTheSameFoldersInOrder()
    {
        string rid = System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier;
        string interopDir = Path.GetDirectoryName(typeof(SparseNative.Interop.SparseNativeLibrary).Assembly.Location)!;
        var candidates = SparseNative.Interop.NativeLibraryProbe.DefaultCandidates(SparseNativeCudaLibrary.FileName).ToList();
        Assert.Equal(Path.GetFullPath(Path.Combine(interopDir, "runtimes", rid, "native", SparseNativeCudaLibrary.FileName)), candidates[0]);
        Assert.Contains(Path.GetFullPath(Path.Combine(interopDir, SparseNativeCudaLibrary.FileName)), candidates);
        Assert.Contains(Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, SparseNativeCudaLibrary.FileName)), candidates);
        var cpu = SparseNative.Interop.NativeLibraryProbe.DefaultCandidates(SparseNative.Interop.SparseNativeLibrary.PlatformFileName);
        Assert.Equal(candidates.Select(Path.GetDirectoryName), cpu.Select(Path.GetDirectoryName));
    }

    [Fact]
    public void TheBackendListShowsCudaWithItsReason()
    {
        Assert.SkipWhen(CudaAttention.IsAvailable, $"a CUDA device is available here ({CudaAttention.DeviceName})");
        var info = Assert.Single(SparseAttention.Backends, i => i.Backend == Backend.Cuda);
        Assert.False(info.IsAvailable);
        Assert.Equal(CudaAttention.UnavailableReason, info.Reason);
        Assert.True(info.Reason!.StartsWith($"SparseNative could not load {SparseNativeCudaLibrary.FileName}: ", StringComparison.Ordinal)
                    || info.Reason.StartsWith("no CUDA device", StringComparison.Ordinal), info.Reason);
        Assert.Contains("Cuda: unavailable — ", SparseAttention.Describe());
    }

    [Fact]
    public void RequestingCudaThrowsBackendUnavailableWithTheReason()
    {
        Assert.SkipWhen(CudaAttention.IsAvailable, $"a CUDA device is available here ({CudaAttention.DeviceName})");
        var (q, k, v) = TestData.Qkv(S, 1);
        var o = new float[S.QueryElements];
        var e = Assert.Throws<BackendUnavailableException>(() =>
            SparseAttention.Forward(q, k, v, o, S, L, new AttentionOptions { Backend = Backend.Cuda }));
        Assert.Equal(Backend.Cuda, e.Backend);
        Assert.Contains(CudaAttention.UnavailableReason!, e.Message);
        Assert.Throws<BackendUnavailableException>(() => SparseAttention.SelectBackend(S, L, new AttentionOptions { Backend = Backend.Cuda }));
    }

    [Fact]
    public void AutoSkipsAnUnavailableCudaAndStaysCorrect()
    {
        Assert.SkipWhen(CudaAttention.IsAvailable, $"a CUDA device is available here ({CudaAttention.DeviceName})");
        var (q, k, v) = TestData.Qkv(S, 2);
        var expected = new float[S.QueryElements];
        SparseAttention.Forward(q, k, v, expected, S, L, new AttentionOptions { Backend = Backend.Reference });
        var o = new float[S.QueryElements];
        Assert.NotEqual(Backend.Cuda, SparseAttention.Forward(q, k, v, o, S, L));
        Assert.True(TestData.RelativeError(o, expected) <= Tolerances.ForwardRelative);
    }

    [Fact]
    public void DeviceBufferApiAgainstAMissingLibraryThrowsTheDocumentedException()
    {
        var missing = SparseNativeCudaLibrary.Open(Path.Combine(Path.GetTempPath(), "sparsenative-no-such-dir", SparseNativeCudaLibrary.FileName));
        var e = Assert.Throws<BackendUnavailableException>(() => CudaBuffer.Allocate(missing, 16, CudaDataType.Float32));
        Assert.Equal(Backend.Cuda, e.Backend);
        Assert.Contains($"SparseNative could not load {SparseNativeCudaLibrary.FileName}: ", e.Message);
        // Argument errors come first and name the argument, library or not.
        Assert.Equal("length", Assert.Throws<ArgumentOutOfRangeException>(() => CudaBuffer.Allocate(missing, 0, CudaDataType.Float16)).ParamName);
        Assert.Equal("dataType", Assert.Throws<ArgumentOutOfRangeException>(() => CudaBuffer.Allocate(missing, 4, (CudaDataType)7)).ParamName);
    }

    [Fact]
    public void PublicDeviceApiOnThisMachineThrowsTheReasonWhenUnavailable()
    {
        Assert.SkipWhen(CudaAttention.IsAvailable, $"a CUDA device is available here ({CudaAttention.DeviceName})");
        var e = Assert.Throws<BackendUnavailableException>(() => CudaBuffer.Allocate(1024, CudaDataType.Float16));
        Assert.Contains(CudaAttention.UnavailableReason!, e.Message);
        Assert.Throws<BackendUnavailableException>(() => CudaBuffer.FromHost(new float[8]));
        Assert.Equal("", CudaAttention.DeviceName);
        Assert.Throws<ArgumentNullException>(() => CudaAttention.Forward(null!, null!, null!, null!, S, L));
    }
}
