using System.Runtime.InteropServices;
using SparseNative.Interop;
using Xunit;

namespace SparseNative.Tests.Native;

/// <summary>
/// Every backend available on this machine against the float64 reference and against each other, on the same random
/// inputs: published patterns, odd sizes, GQA, causal, BSHD, segment ids, LSE. Bounds: <see cref="Tolerances.ForwardRelative"/>
/// to the reference, <see cref="Tolerances.CrossBackendRelative"/> between two fp32 backends, <see cref="Tolerances.LogSumExp"/>.
/// </summary>
public class BackendComparisonTests
{
    public static TheoryData<string> Problems => new() { "bigbird", "longformer", "phi3", "fixed-uni", "window-causal", "random-empty-rows", "cross-decode", "segments-bshd" };

    private static (AttentionShape Shape, BlockLayout Layout, AttentionOptions Options, int[]? Seg) Make(string name) => name switch
    {
        "bigbird" => (new(2, 4, 2, 300, 300, 64), BlockPatterns.BigBird(300, 32, numRandomBlocks: 2, heads: 4, seed: 7), new(), null),
        "longformer" => (new(1, 4, 4, 257, 257, 32), BlockPatterns.BSLongformer(257, 16, 5, [0, 9]), new() { Causal = true }, null),
        "phi3" => (new(1, 4, 4, 640, 640, 64), BlockPatterns.Strided(640, 64, 2, 4, numLayouts: 4), new() { Causal = true }, null),
        "fixed-uni" => (new(1, 2, 1, 200, 200, 80), BlockPatterns.Fixed(200, 16, 4, 2, unidirectional: true), new() { Causal = true }, null),
        "window-causal" => (new(1, 3, 3, 129, 129, 128), BlockPatterns.LocalWindow(129, 32, 1, causal: true), new() { Causal = true }, null),
        "random-empty-rows" => (new(1, 2, 2, 100, 100, 24), TestData.RandomLayout(16, 7, 7, 2, 0.3, 5), new(), null),
        "cross-decode" => (new(1, 8, 2, 3, 500, 64), TestData.RandomLayout(64, 1, 8, 4, 0.6, 6), new() { Causal = true }, null),
        _ => (new(2, 2, 2, 96, 96, 16), BlockPatterns.Dense(96, 32), new() { Format = TensorFormat.Bshd, Causal = true },
              Enumerable.Range(0, 192).Select(i => (i % 96) / 40).ToArray()),
    };

    public static IEnumerable<Backend> AvailableFastBackends() =>
        SparseAttention.Backends.Where(b => b.IsAvailable && b.Backend != Backend.Reference).Select(b => b.Backend);

    [Theory]
    [MemberData(nameof(Problems))]
    public void EveryAvailableBackendMatchesTheReferenceAndEachOther(string problem)
    {
        var (s, layout, opts, seg) = Make(problem);
        if (seg is not null) opts = opts with { QuerySegmentIds = seg, KeySegmentIds = seg };
        var (q, k, v) = TestData.Qkv(s, problem.Length * 13, scale: 1.5f);
        AssertEveryBackendAgrees(q, k, v, s, layout, opts, problem);
    }

    /// <summary>
    /// Every available fast backend against the reference (<see cref="Tolerances.ForwardRelative"/>,
    /// <see cref="Tolerances.LogSumExp"/>) and against each other (<see cref="Tolerances.CrossBackendRelative"/>), on one problem.
    /// </summary>
    private static void AssertEveryBackendAgrees(float[] q, float[] k, float[] v, AttentionShape s, BlockLayout layout,
                                                 AttentionOptions opts, string label)
    {
        (float[] O, float[] Lse) Run(Backend b)
        {
            var o = new float[s.QueryElements];
            var lse = new float[s.LogSumExpElements];
            Assert.Equal(b, SparseAttention.Forward(q, k, v, o, s, layout, opts with { Backend = b }, lse));
            return (o, lse);
        }
        var reference = Run(Backend.Reference);
        var results = AvailableFastBackends().Select(b => (Backend: b, Result: Run(b))).ToList();
        Assert.NotEmpty(results); // at least one managed SIMD path exists on every x64 and arm64 machine
        foreach (var (b, r) in results)
        {
            double err = TestData.RelativeError(r.O, reference.O);
            Assert.True(err <= Tolerances.ForwardRelative, $"{b} vs Reference on {label}: relative error {err:E2}");
            double lseErr = TestData.MaxLseError(r.Lse, reference.Lse);
            Assert.True(lseErr <= Tolerances.LogSumExp, $"{b} LSE on {label}: {lseErr:E2}");
        }
        for (int i = 0; i < results.Count; i++)
            for (int j = i + 1; j < results.Count; j++)
            {
                double err = TestData.RelativeError(results[i].Result.O, results[j].Result.O);
                Assert.True(err <= Tolerances.CrossBackendRelative, $"{results[i].Backend} vs {results[j].Backend} on {label}: {err:E2}");
            }
    }

    public static TheoryData<float, bool> Scales => new()
    {
        { 0f, false }, { 0f, true }, { -0.3f, false }, { -0.3f, true }, { 1e-3f, false }, { 1e-3f, true }, { 2f, false }, { 2f, true },
    };

    /// <summary>
    /// A given scale is used as is by every backend: 0 (uniform weights over the allowed keys; the C ABI once read it as
    /// "1/√d"), negative, tiny and large. GQA, Lq ≠ Lk (causal cross) and ragged tails, on every available backend.
    /// </summary>
    [Theory]
    [MemberData(nameof(Scales))]
    public void EveryAvailableBackendUsesTheGivenScale(float scale, bool causal)
    {
        var s = new AttentionShape(2, 4, 2, 90, 130, 32);
        var layout = TestData.RandomLayout(32, s.QueryBlocks(32), s.KeyBlocks(32), 2, 0.7, 17);
        var opts = new AttentionOptions { Scale = scale, Causal = causal };
        var (q, k, v) = TestData.Qkv(s, 23, scale: 1.5f);
        AssertEveryBackendAgrees(q, k, v, s, layout, opts, $"scale {scale}, causal {causal}");
    }

    [Fact]
    public void NativeLibraryIsLoadedInTheTestProcessWhenBuilt()
    {
        string lib = Path.Combine(NativeLoadTests.NativeBuildDir, "lib", "libsparsenative.so");
        if (!File.Exists(lib) || !RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) Assert.Skip($"native library not built ({lib}): run ./build.sh build");
        var info = SparseAttention.Backends.Single(b => b.Backend == Backend.NativeCpu);
        Assert.True(info.IsAvailable, info.Reason);
        Assert.Contains("libsparsenative", info.Details);
    }

    /// <summary>The hand-written bindings against the compiled library's own sizeof/offsetof report.</summary>
    [Fact]
    public unsafe void StructSizesAndOffsetsMatchTheNativeLibrary()
    {
        if (!SparseNativeLibrary.Status.IsLoaded) Assert.Skip($"native library not loaded: {SparseNativeLibrary.Status.FailureReason}");
        Check<SnLayout>(SnStructId.Layout);
        Check<SnProblem>(SnStructId.Problem);

        static void Check<T>(SnStructId id) where T : unmanaged
        {
            var fields = typeof(T).GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance);
            int size;
            var offsets = new int[32];
            int count;
            fixed (int* o = offsets) count = SparseNativeMethods.sn_struct_layout(id, &size, o, offsets.Length);
            Assert.Equal(fields.Length, count);
            Assert.Equal(Marshal.SizeOf<T>(), size);
            for (int i = 0; i < count; i++)
                Assert.Equal((int)Marshal.OffsetOf<T>(fields[i].Name), offsets[i]);
        }
    }

    [Fact]
    public void NativeValidationErrorsSurfaceWithTheNativeMessage()
    {
        if (!SparseNativeLibrary.Status.IsLoaded) Assert.Skip($"native library not loaded: {SparseNativeLibrary.Status.FailureReason}");
        // The managed side rejects bad input before the call, so call the bindings directly: the C side must refuse too.
        var problem = new SnProblem { Batch = 1, QueryHeads = 3, KvHeads = 2, QueryLength = 16, KeyLength = 16, HeadDim = 8 };
        var layout = new SnLayout { BlockSize = 16, QueryBlocks = 1, KeyBlocks = 1, NumLayouts = 1 };
        var ex = Assert.Throws<SparseNativeException>(() =>
            SparseNativeApi.AttentionForward(problem, layout, new float[384], new float[256], new float[256], new float[384], default));
        Assert.Contains("query_heads", ex.Message);
    }
}
