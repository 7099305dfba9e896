namespace SparseNative.Bench.Common;

/// <summary>
/// Which backends the benchmarks run: every one the library reports available on this machine, each forced through
/// <see cref="AttentionOptions.Backend"/>, so new backends are measured the day they are merged.
/// </summary>
internal static class BackendCatalog
{
    /// <summary>
    /// Above this many flops the float64 reference is skipped (with a printed note): it runs at a few GFLOP/s, so a
    /// 4096-token dense problem would take tens of seconds and say nothing about the fast paths.
    /// </summary>
    public const double ReferenceFlopLimit = 2e9;

    /// <summary>Available backends in the dispatcher's order (fastest first), Auto excluded.</summary>
    public static IReadOnlyList<Backend> Available() =>
        SparseAttention.Backends.Where(b => b.IsAvailable && (Only is null || Only.Contains(b.Backend)))
            .Select(b => b.Backend).OrderBy(AutoRank).ToList();

    /// <summary>When set (<c>quick --backends</c>), the only backends measured; the reference stays available as the oracle.</summary>
    public static IReadOnlySet<Backend>? Only { get; set; }

    private static int AutoRank(Backend b) => b switch
    {
        Backend.Cuda => 0, Backend.Avx512 => 1, Backend.Avx2 => 2, Backend.Neon => 3, Backend.Portable => 4,
        Backend.NativeCpu => 5, Backend.Reference => 6, _ => 7,
    };

    /// <summary>Whether to skip this backend for a problem of this size, and why.</summary>
    public static string? SkipReason(Backend backend, double flops) =>
        backend == Backend.Reference && flops > ReferenceFlopLimit
            ? $"Reference skipped: {flops / 1e9:F1} GFLOP is too slow for the float64 oracle (limit {ReferenceFlopLimit / 1e9:F0} GFLOP)"
            : null;

    /// <summary>
    /// The SIMD width whose FMA peak a backend is judged against: its own width for the managed SIMD paths, the widest
    /// accelerated width for the others (native C, the reference, ONNX Runtime), which may use any; null for the GPU.
    /// </summary>
    public static VectorWidth? PeakWidth(Backend backend) => backend switch
    {
        Backend.Avx512 => VectorWidth.V512,
        Backend.Avx2 => VectorWidth.V256,
        Backend.Portable or Backend.Neon => VectorWidth.V128,
        Backend.Cuda => null,
        _ => Widest,
    };

    /// <summary>The widest accelerated vector width on this machine.</summary>
    public static VectorWidth Widest =>
        FmaPeak.IsAccelerated(VectorWidth.V512) ? VectorWidth.V512 :
        FmaPeak.IsAccelerated(VectorWidth.V256) ? VectorWidth.V256 : VectorWidth.V128;

    /// <summary>Runs one forward pass on a forced backend with a thread cap.</summary>
    public static void Forward(BenchData data, BlockLayout layout, Backend backend, bool causal, int threads) =>
        SparseAttention.Forward(data.Query, data.Key, data.Value, data.Output, data.Shape, layout,
            new AttentionOptions { Backend = backend, Causal = causal, MaxThreads = threads, CheckFinite = false });
}
