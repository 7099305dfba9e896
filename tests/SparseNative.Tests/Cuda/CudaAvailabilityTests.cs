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
    public void MissingLibraryReasonListsEveryPathTried()
    {
        string dir = Path.Combine(Path.GetTempPath(), "sparsenative-no-such-dir");
        string file = Path.Combine(dir, SparseNativeCudaLibrary.FileName);
        var lib = SparseNativeCudaLibrary.Probe([file, "libsparsenative_cuda_no_such_name.so"]);
        Assert.NotNull(lib.UnavailableReason);
        Assert.StartsWith("libsparsenative_cuda not found: tried ", lib.UnavailableReason);
        Assert.Contains($"{file} (no such file)", lib.UnavailableReason);
        Assert.Contains("libsparsenative_cuda_no_such_name.so (system search: ", lib.UnavailableReason);
        Assert.Equal(2, lib.ProbeTrace.Count);
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
            var lib = SparseNativeCudaLibrary.Probe([path]);
            Assert.StartsWith("libsparsenative_cuda not found: tried ", lib.UnavailableReason);
            Assert.Contains($"{path} (failed to load: ", lib.UnavailableReason);
        }
        finally { Directory.Delete(Path.GetDirectoryName(path)!, recursive: true); }
    }

    [Fact]
    public void ALibraryWithoutTheEntryPointsIsNotMistakenForTheCudaLibrary()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "uses glibc's libm.so.6 as a foreign library");
        var lib = SparseNativeCudaLibrary.Probe(["libm.so.6"]);
        Assert.Equal("libm.so.6", lib.LoadedFrom);
        Assert.NotNull(lib.UnavailableReason);
        Assert.StartsWith("libm.so.6 is not a compatible libsparsenative_cuda: ", lib.UnavailableReason);
        Assert.Contains("snc_abi_version", lib.UnavailableReason);
    }

    [Fact]
    public void TheEnvironmentVariableIsTriedFirstThenTheApplicationFolder()
    {
        string? saved = Environment.GetEnvironmentVariable(SparseNativeCudaLibrary.PathEnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable(SparseNativeCudaLibrary.PathEnvironmentVariable, "/opt/x/libsparsenative_cuda.so");
            var candidates = SparseNativeCudaLibrary.DefaultCandidates().ToList();
            Assert.Equal("/opt/x/libsparsenative_cuda.so", candidates[0]);
            Assert.Equal(Path.Combine(AppContext.BaseDirectory, SparseNativeCudaLibrary.FileName), candidates[1]);
            Assert.Equal(SparseNativeCudaLibrary.FileName, candidates[^1]);
            Environment.SetEnvironmentVariable(SparseNativeCudaLibrary.PathEnvironmentVariable, null);
            Assert.Equal(Path.Combine(AppContext.BaseDirectory, SparseNativeCudaLibrary.FileName), SparseNativeCudaLibrary.DefaultCandidates().First());
        }
        finally { Environment.SetEnvironmentVariable(SparseNativeCudaLibrary.PathEnvironmentVariable, saved); }
    }

    [Fact]
    public void TheBackendListShowsCudaWithItsReason()
    {
        Assert.SkipWhen(CudaAttention.IsAvailable, $"a CUDA device is available here ({CudaAttention.DeviceName})");
        var info = Assert.Single(SparseAttention.Backends, i => i.Backend == Backend.Cuda);
        Assert.False(info.IsAvailable);
        Assert.Equal(CudaAttention.UnavailableReason, info.Reason);
        Assert.True(info.Reason!.StartsWith("libsparsenative_cuda not found: tried ", StringComparison.Ordinal)
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
        var missing = SparseNativeCudaLibrary.Probe([Path.Combine(Path.GetTempPath(), "sparsenative-no-such-dir", SparseNativeCudaLibrary.FileName)]);
        var e = Assert.Throws<BackendUnavailableException>(() => CudaBuffer.Allocate(missing, 16, CudaDataType.Float32));
        Assert.Equal(Backend.Cuda, e.Backend);
        Assert.Contains("libsparsenative_cuda not found: tried ", e.Message);
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
