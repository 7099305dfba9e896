using System.Runtime.InteropServices;
using SparseNative.Interop;
using Xunit;

namespace SparseNative.Tests.Native;

/// <summary>
/// The native library's loading failures give the documented errors. The loader binds once per process, so each case
/// runs <see cref="NativeLoadChildTests"/> in a child process with <c>SPARSENATIVE_NATIVE_PATH</c> pointing at a missing
/// file, a corrupt file, a library reporting the wrong ABI version, one whose structs disagree with the bindings, and
/// the real library.
/// </summary>
public class NativeLoadTests
{
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

    public static TheoryData<string> Cases => new() { "missing", "corrupt", "bad-version", "bad-layout", "good" };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task LoadingFailuresGiveTheDocumentedErrors(string @case)
    {
        if (Environment.GetEnvironmentVariable(CaseVariable) is not null) Assert.Skip("already inside a child process");
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) Assert.Skip("the test libraries are built for Linux");
        string lib = Path.Combine(NativeBuildDir, "lib", "libsparsenative.so");
        string testlib = Path.Combine(NativeBuildDir, "testlib");
        if (!File.Exists(lib)) Assert.Skip($"native library not built ({lib}): run ./build.sh build");

        string corrupt = Path.Combine(Path.GetTempPath(), $"sparsenative-corrupt-{Environment.ProcessId}.so");
        File.WriteAllBytes(corrupt, [.. "\u007fELF this is not a shared object"u8, .. new byte[256]]);
        try
        {
            var (path, text) = @case switch
            {
                "missing" => ("/nonexistent/dir/libsparsenative.so", "/nonexistent/dir/libsparsenative.so"),
                "corrupt" => (corrupt, "load failed"),
                "bad-version" => (Path.Combine(testlib, "libsparsenative_abi_bad_version.so"), "ABI version mismatch"),
                "bad-layout" => (Path.Combine(testlib, "libsparsenative_abi_bad_layout.so"), "ABI mismatch"),
                _ => (lib, ""),
            };
            if (@case.StartsWith("bad") && !File.Exists(path)) Assert.Skip($"test library not built: {path}");
            await RunChild(@case, path, text);
        }
        finally { File.Delete(corrupt); }
    }

    private static Task RunChild(string @case, string path, string text) =>
        ChildTestProcess.RunAndRequirePass(typeof(NativeLoadChildTests), new Dictionary<string, string?>
        {
            [CaseVariable] = @case, [TextVariable] = text, [SparseNativeLibrary.PathEnvironmentVariable] = path,
        }, $"native library case '{@case}'", TimeSpan.FromMinutes(2));
}

/// <summary>
/// Exists only in a child process of <see cref="NativeLoadTests"/>, with the library path under test; a normal run does
/// not discover it.
/// </summary>
public class NativeLoadChildTests
{
    private static (string Case, string Text) Expected()
    {
        string c = Environment.GetEnvironmentVariable(NativeLoadTests.CaseVariable)
            ?? throw new InvalidOperationException($"{NativeLoadTests.CaseVariable} is not set");
        return (c, Environment.GetEnvironmentVariable(NativeLoadTests.TextVariable) ?? "");
    }

    [ChildProcessFact(NativeLoadTests.CaseVariable)]
    public void TheBackendReportsTheOutcome()
    {
        var (c, text) = Expected();
        var info = SparseAttention.Backends.Single(b => b.Backend == Backend.NativeCpu);
        var status = SparseNativeLibrary.Status; // probing never throws
        if (c == "good")
        {
            Assert.True(info.IsAvailable, info.Reason);
            Assert.True(status.IsLoaded);
            Assert.Equal(SparseNativeMethods.AbiVersion, status.AbiVersion);
            Assert.Contains("sparsenative", status.BuildInfo);
            return;
        }
        Assert.False(info.IsAvailable);
        Assert.False(status.IsLoaded);
        Assert.Contains(text, info.Reason);
        Assert.Contains(Environment.GetEnvironmentVariable(SparseNativeLibrary.PathEnvironmentVariable)!, info.Reason);
        var ex = Assert.Throws<BackendUnavailableException>(() => RunOnce(Backend.NativeCpu));
        Assert.Contains(text, ex.Message);
    }

    [ChildProcessFact(NativeLoadTests.CaseVariable)]
    public void AutoStillRunsAndIsCorrect()
    {
        Expected();
        var (ran, error) = RunOnce(Backend.Auto);
        Assert.True(error <= Tolerances.ForwardRelative, $"{ran}: relative error {error}");
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
