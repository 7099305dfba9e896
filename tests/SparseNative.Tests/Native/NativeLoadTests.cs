using System.Runtime.InteropServices;
using SparseNative.Interop;
using SparseNative.Interop.Cuda;
using Xunit;

namespace SparseNative.Tests.Native;

/// <summary>
/// Loading failures of each native library of ours give the documented errors, by the same rules for both. The loader
/// binds once per process, so each case runs <see cref="NativeLoadChildTests"/> in a child process with the library's
/// path variable (<c>SPARSENATIVE_NATIVE_PATH</c>, <c>SPARSENATIVE_CUDA_PATH</c>) pointing at a missing file, a corrupt
/// file, a library reporting the wrong ABI version, one whose structs disagree with the bindings, and the real library
/// (for CUDA the CPU-emulated one, build/native/testlib).
/// </summary>
public class NativeLoadTests
{
    internal const string LibraryVariable = "SPARSENATIVE_EXPECT_LOAD_LIBRARY";
    internal const string CaseVariable = "SPARSENATIVE_EXPECT_LOAD";
    internal const string TextVariable = "SPARSENATIVE_EXPECT_LOAD_TEXT";

    /// <summary>CMake's output folder, found from the test binary (bin/Release/net10.0 → repository root).</summary>
    internal static string NativeBuildDir
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "SparseNative.sln"))) return Path.Combine(dir.FullName, "build", "native");
            return Path.Combine(AppContext.BaseDirectory, "build", "native");
        }
    }

    public static TheoryData<string, string> Cases
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (string library in new[] { "cpu", "cuda" })
                foreach (string @case in new[] { "missing", "corrupt", "bad-version", "bad-layout", "good" })
                    data.Add(library, @case);
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task LoadingFailuresGiveTheDocumentedErrors(string library, string @case)
    {
        if (Environment.GetEnvironmentVariable(CaseVariable) is not null) Assert.Skip("already inside a child process");
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) Assert.Skip("the test libraries are built for Linux");
        string testlib = Path.Combine(NativeBuildDir, "testlib");
        bool cuda = library == "cuda";
        // The CUDA cases use the emulated CUDA library and its ABI-mismatched variants (native/cuda/CMakeLists.txt).
        string good = cuda ? Path.Combine(testlib, "libsparsenative_cuda_emu.so") : Path.Combine(NativeBuildDir, "lib", "libsparsenative.so");
        string badPrefix = cuda ? "libsparsenative_cuda_emu_abi_bad_" : "libsparsenative_abi_bad_";
        if (!File.Exists(good)) Assert.Skip($"native library not built ({good}): run ./build.sh build");

        string corrupt = Path.Combine(Path.GetTempPath(), $"sparsenative-corrupt-{library}-{Environment.ProcessId}.so");
        File.WriteAllBytes(corrupt, [.. "\u007fELF this is not a shared object"u8, .. new byte[256]]);
        try
        {
            string missing = $"/nonexistent/dir/{Path.GetFileName(good)}";
            var (path, text) = @case switch
            {
                "missing" => (missing, $"{missing}: file not found"),
                "corrupt" => (corrupt, "load failed"),
                "bad-version" => (Path.Combine(testlib, badPrefix + "version.so"), "ABI version mismatch"),
                "bad-layout" => (Path.Combine(testlib, badPrefix + "layout.so"), "ABI mismatch: sn_problem"),
                _ => (good, ""),
            };
            if (@case.StartsWith("bad") && !File.Exists(path)) Assert.Skip($"test library not built: {path}");
            await ChildTestProcess.RunAndRequirePass(typeof(NativeLoadChildTests), new Dictionary<string, string?>
            {
                [LibraryVariable] = library, [CaseVariable] = @case, [TextVariable] = text,
                // The library under test is named by its variable; the other one probes as usual (the CPU library from the
                // test's runtimes folder; no CUDA library there, so CUDA stays out of Auto in the CPU cases).
                [SparseNativeLibrary.PathEnvironmentVariable] = cuda ? null : path,
                [SparseNativeCudaLibrary.PathEnvironmentVariable] = cuda ? path : null,
            }, $"{library} library case '{@case}'", TimeSpan.FromMinutes(3));
        }
        finally { File.Delete(corrupt); }
    }
}

/// <summary>
/// Exists only in a child process of <see cref="NativeLoadTests"/>, with the library path under test; a normal run does
/// not discover it.
/// </summary>
public class NativeLoadChildTests
{
    private static (Backend Backend, string Case, string Text) Expected()
    {
        string c = Environment.GetEnvironmentVariable(NativeLoadTests.CaseVariable)
            ?? throw new InvalidOperationException($"{NativeLoadTests.CaseVariable} is not set");
        var backend = Environment.GetEnvironmentVariable(NativeLoadTests.LibraryVariable) == "cuda" ? Backend.Cuda : Backend.NativeCpu;
        return (backend, c, Environment.GetEnvironmentVariable(NativeLoadTests.TextVariable) ?? "");
    }

    private static (NativeLibraryStatus Status, string Variable, int AbiVersion, string BuildName) LibraryUnderTest(Backend backend) =>
        backend == Backend.Cuda
            ? (SparseNativeCudaLibrary.Shared.LoadStatus, SparseNativeCudaLibrary.PathEnvironmentVariable, SparseNativeCudaLibrary.ExpectedAbiVersion,
                "sparsenative_cuda")
            : (SparseNativeLibrary.Status, SparseNativeLibrary.PathEnvironmentVariable, SparseNativeMethods.AbiVersion, "sparsenative");

    [ChildProcessFact(NativeLoadTests.CaseVariable)]
    public void TheBackendReportsTheOutcome()
    {
        var (backend, c, text) = Expected();
        var info = SparseAttention.Backends.Single(b => b.Backend == backend);
        var (status, variable, abi, buildName) = LibraryUnderTest(backend); // probing never throws
        if (c == "good")
        {
            Assert.True(info.IsAvailable, info.Reason);
            Assert.True(status.IsLoaded);
            Assert.Equal(abi, status.AbiVersion);
            Assert.Contains(buildName, status.BuildInfo);
            return;
        }
        Assert.False(info.IsAvailable);
        Assert.False(status.IsLoaded);
        string path = Environment.GetEnvironmentVariable(variable)!;
        // The path variable is exclusive: only the named file was tried, although another copy may be on the probe path.
        var attempt = Assert.Single(status.Attempts);
        Assert.Equal(path, attempt.Path);
        Assert.Contains(text, info.Reason);
        Assert.Contains(path, info.Reason);
        Assert.Contains(variable, info.Reason);
        Assert.Contains(text, SparseAttention.Describe());
        var ex = Assert.Throws<BackendUnavailableException>(() => RunOnce(backend));
        Assert.Equal(backend, ex.Backend);
        Assert.Contains(text, ex.Message);
    }

    [ChildProcessFact(NativeLoadTests.CaseVariable)]
    public void AutoStillRunsAndIsCorrect()
    {
        var (backend, c, _) = Expected();
        var (ran, error) = RunOnce(Backend.Auto);
        Assert.True(error <= Tolerances.ForwardRelative, $"{ran}: relative error {error}");
        // Cuda comes first in Auto's order, so a usable CUDA library is used; a refused library never is.
        if (backend == Backend.Cuda && c == "good") Assert.Equal(Backend.Cuda, ran);
        if (c != "good") Assert.NotEqual(backend, ran);
    }

    private static (Backend Ran, double Error) RunOnce(Backend backend)
    {
        var s = new AttentionShape(1, 2, 1, 70, 70, 16);
        var layout = TestData.RandomLayout(32, 3, 3, 1, 0.7, 3);
        var (q, k, v) = TestData.Qkv(s, 9);
        var o = new float[s.QueryElements];
        var expected = new float[s.QueryElements];
        var ran = SparseAttention.Forward(q, k, v, o, s, layout, new AttentionOptions { Backend = backend, Causal = true });
        SparseAttention.Forward(q, k, v, expected, s, layout, new AttentionOptions { Backend = Backend.Reference, Causal = true });
        return (ran, TestData.RelativeError(o, expected));
    }
}
