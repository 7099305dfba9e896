using System.Text.RegularExpressions;
using SparseNative.Cuda;
using SparseNative.Interop;
using SparseNative.Interop.Cuda;
using SparseNative.Native;
using SparseNative.Tests.Cuda;
using Xunit;

namespace SparseNative.Tests.Native;

/// <summary>
/// Every native status becomes the documented exception (<see cref="NativeErrors"/>), the same for every native backend:
/// each status a call can provoke is driven through the real CPU library and the CPU-emulated CUDA library (by the
/// backends' own call paths, with C structs the managed validation would have refused), and the mapping is checked over
/// every status the C headers define, so a new status without a mapping fails here.
/// </summary>
public class NativeErrorMappingTests
{
    private const int D = 8;

    /// <summary>An ABI-level call: 1 batch, 2 query heads, 1 kv head, 16 tokens, one 16-block; <paramref name="change"/> spoils it.</summary>
    private sealed class Call
    {
        public SnProblem Problem = new() { Batch = 1, QueryHeads = 2, KvHeads = 1, QueryLength = 16, KeyLength = 16, HeadDim = D, Flags = SnFlags.AllowNonFinite };
        public SnLayout Layout = new() { BlockSize = 16, QueryBlocks = 1, KeyBlocks = 1, NumLayouts = 1, NumColIndices = 1 };
        public float[] Q = Filled(2 * 16 * D, 1), K = Filled(16 * D, 2), V = Filled(16 * D, 3), Out = new float[2 * 16 * D];
        public int[] Rows = [0, 1], Cols = [0];

        private static float[] Filled(int n, int seed)
        {
            var r = new Random(seed);
            return Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
        }
    }

    /// <summary>Status, how to provoke it, the documented exception type and the parameter it must name.</summary>
    public static TheoryData<SnStatus, string, string?> Provoked => new()
    {
        { SnStatus.InvalidArgument, "heads", "shape" },
        { SnStatus.InvalidArgument, "scale", "options" },
        { SnStatus.InvalidLayout, "block-size", "layout" },
        { SnStatus.BufferTooSmall, "short-key", "key" },
        { SnStatus.NonFinite, "nan-value", "value" },
        { SnStatus.Unsupported, "head-dim", null },
    };

    private static Call Spoil(string how)
    {
        var c = new Call();
        switch (how)
        {
            case "heads": c.Problem.QueryHeads = 3; c.Problem.KvHeads = 2; break;
            case "scale": c.Problem.Scale = float.NaN; break;
            case "block-size": c.Layout.BlockSize = 48; break;
            case "short-key": c.K = new float[c.K.Length - 1]; break;
            case "nan-value": c.V[5] = float.NaN; c.Problem.Flags = SnFlags.None; break;
            case "head-dim":
                c.Problem.HeadDim = 12;
                (c.Q, c.K, c.V, c.Out) = (new float[2 * 16 * 12], new float[16 * 12], new float[16 * 12], new float[2 * 16 * 12]);
                break;
        }
        return c;
    }

    private static unsafe Exception Provoke(Call c, Action<SnProblem, SnLayout> run)
    {
        fixed (int* rows = c.Rows, cols = c.Cols)
        {
            c.Layout.RowOffsets = rows;
            c.Layout.ColIndices = cols;
            return Assert.ThrowsAny<Exception>(() => run(c.Problem, c.Layout));
        }
    }

    private static void AssertDocumented(Exception e, Backend backend, SnStatus status, string? param)
    {
        Assert.Contains(NativeStatus.Name(status), e.Message);
        Assert.IsType(ExpectedType(status), e);
        if (e is ArgumentException a) Assert.Equal(param, a.ParamName);
        if (e is BackendUnavailableException u) Assert.Equal(backend, u.Backend);
    }

    [Theory]
    [MemberData(nameof(Provoked))]
    public void TheCpuLibrarysStatusesArriveAsTheDocumentedExceptions(SnStatus status, string how, string? param)
    {
        Assert.SkipUnless(SparseNativeLibrary.Status.IsLoaded, $"native library not loaded: {SparseNativeLibrary.Status.FailureReason}");
        var c = Spoil(how);
        var e = Provoke(c, (p, l) => NativeCpuBackend.Run(p, l, c.Q, c.K, c.V, c.Out, default));
        AssertDocumented(e, Backend.NativeCpu, status, param);
    }

    [Theory]
    [MemberData(nameof(Provoked))]
    public void TheCudaLibrarysStatusesArriveAsTheDocumentedExceptions(SnStatus status, string how, string? param)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the emulated CUDA library is built on Linux");
        string? path = CudaEmulationTests.FindEmulatedLibrary();
        Assert.SkipWhen(path is null, "libsparsenative_cuda_emu.so not built (cmake --build build/native --target sparsenative_cuda_emu)");
        var lib = SparseNativeCudaLibrary.Open(path!);
        Assert.Null(lib.UnavailableReason);
        var c = Spoil(how);
        var e = Provoke(c, (p, l) => CudaBackend.Run(lib, p, l, c.Q, c.K, c.V, c.Out, default));
        AssertDocumented(e, Backend.Cuda, status, param);
    }

    /// <summary>The documented exception per status; every status of the C headers must appear here.</summary>
    private static Type ExpectedType(SnStatus status) => status switch
    {
        SnStatus.InvalidArgument or SnStatus.BufferTooSmall or SnStatus.NonFinite => typeof(ArgumentException),
        SnStatus.InvalidLayout => typeof(InvalidLayoutException),
        SnStatus.Unsupported => typeof(BackendUnavailableException),
        SnStatus.OutOfMemory or SnStatus.Internal or SnStatus.CudaError => typeof(NativeBackendException),
        _ => throw new Xunit.Sdk.XunitException($"status {status} ({(int)status}) has no documented exception in this test"),
    };

    /// <summary>Every status defined by sparse_native.h (enum sn_status_code) and sparse_native_cuda.h (SNC_* status defines).</summary>
    private static List<(string Name, int Value)> HeaderStatuses()
    {
        string root = Path.GetDirectoryName(Path.GetDirectoryName(NativeLoadTests.NativeBuildDir))!;
        string cpu = File.ReadAllText(Path.Combine(root, "native", "include", "sparse_native.h"));
        string cuda = File.ReadAllText(Path.Combine(root, "native", "cuda", "include", "sparse_native_cuda.h"));
        var list = new List<(string, int)>();
        string statusEnum = Regex.Match(cpu, @"enum sn_status_code\s*\{(?<body>[^}]*)\}").Groups["body"].Value;
        foreach (Match m in Regex.Matches(statusEnum, @"\b(SN_[A-Z_]+)\s*=\s*(\d+)")) list.Add((m.Groups[1].Value, int.Parse(m.Groups[2].Value)));
        foreach (Match m in Regex.Matches(cuda, @"#define\s+(SNC_[A-Z_]+)\s+(\d+)\b"))
            if (m.Groups[1].Value != "SNC_ABI_VERSION") list.Add((m.Groups[1].Value, int.Parse(m.Groups[2].Value)));
        return list;
    }

    [Fact]
    public void EveryStatusTheHeadersDefineHasADocumentedException()
    {
        var statuses = HeaderStatuses();
        Assert.Contains(("SN_OK", 0), statuses);
        Assert.Contains(("SNC_CUDA_ERROR", 100), statuses);
        foreach (var (name, value) in statuses)
        {
            var status = (SnStatus)value;
            Assert.True(Enum.IsDefined(status), $"{name} = {value} is not in SnStatus");
            Assert.Equal(name, NativeStatus.Name(status));
            if (status == SnStatus.Ok) continue;
            Assert.NotEqual(NativeErrors.Kind.Unmapped, NativeErrors.Classify(status));
            foreach (var backend in new[] { Backend.NativeCpu, Backend.Cuda })
            {
                var e = NativeErrors.ToException(backend, status, "layout->block_size = 48: must be 16, 32, 64 or 128");
                Assert.IsType(ExpectedType(status), e);
                Assert.Contains($"{name}: layout->block_size = 48", e.Message);
                if (e is NativeBackendException n) Assert.Equal((backend, value, name), (n.Backend, n.Status, n.StatusName));
            }
        }
        // And nothing in SnStatus that the headers do not define.
        Assert.Equal(statuses.Select(s => s.Value).Order(), Enum.GetValues<SnStatus>().Select(s => (int)s).Order());
    }

    [Theory]
    [InlineData("problem->head_dim = 20: the CUDA kernels require a multiple of 8", "shape")]
    [InlineData("problem->query_segment_ids is NULL but problem->key_segment_ids is not: give both or neither", "options")]
    [InlineData("problem: the tensor element counts overflow a 64-bit size", "shape")]
    [InlineData("layout->row_offsets[3] = 2 < previous 4 (list 0, row 2)", "layout")]
    [InlineData("layout block_size = 32: the f16 tensor-core kernel supports 64 and 128", "layout")]
    [InlineData("q[7] (batch 0, head 0, token 0, channel 7) = nan: non-finite input", "query")]
    [InlineData("k_len = 10: [batch, kv_heads, key_length, head_dim] needs 128 elements", "key")]
    [InlineData("out overlaps v: the output must be a separate buffer", "output")]
    [InlineData("lse_len = 3: the problem needs 32 elements", "logSumExp")]
    [InlineData("dtype = 7: must be 0 (SNC_DTYPE_F32), 1 (SNC_DTYPE_F16) or 2 (SNC_DTYPE_BF16)", "dtype")]
    [InlineData("dout_len = 3: [batch, query_heads, query_length, head_dim] needs 128 elements", "outputGradient")]
    [InlineData("dq overlaps k: each gradient must be a separate buffer", "queryGradient")]
    [InlineData("dk_len = 0: [batch, kv_heads, key_length, head_dim] needs 64 elements", "keyGradient")]
    [InlineData("dv overlaps dk: each gradient must be a separate buffer", "valueGradient")]
    [InlineData("", null)]
    public void TheArgumentIsTheFieldTheNativeMessageStartsWith(string message, string? expected) =>
        Assert.Equal(expected, NativeErrors.ParameterOf(message));
}
