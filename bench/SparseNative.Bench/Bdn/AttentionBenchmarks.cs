using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Parameters;
using SparseNative.Bench.Common;
using SparseNative.Bench.Quick;

namespace SparseNative.Bench.Bdn;

/// <summary>
/// Every available fast backend × {dense, dense causal, BigBird-like ≈ 10%} at B=1, H=8, d=64, block 64, on 1 and 2
/// threads. The float64 reference is left out (seconds per call at this size).
/// </summary>
public class AttentionBenchmarks : IFlopCounted
{
    private const int Heads = 8, HeadDim = 64, BlockSize = 64;
    private BenchData _data = null!;
    private BenchCase _case = null!;

    /// <summary>The backends the library reports available here, the reference excepted.</summary>
    public static IEnumerable<Backend> AvailableBackends() =>
        BackendCatalog.Available().Where(b => b != Backend.Reference);

    [ParamsSource(nameof(AvailableBackends))]
    public Backend Backend { get; set; }

    [Params("dense", "causal", "bigbird10")]
    public string Pattern { get; set; } = "dense";

    [Params(4096)]
    public int Sequence { get; set; }

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _case = CreateCase(Pattern, Sequence);
        _data = new BenchData(_case.Shape);
    }

    [Benchmark]
    public void Forward() => BackendCatalog.Forward(_data, _case.Layout, Backend, _case.Causal, Threads);

    internal static BenchCase CreateCase(string pattern, int sequence)
    {
        var shape = AttentionShape.SelfAttention(1, Heads, sequence, HeadDim);
        int blocks = shape.QueryBlocks(BlockSize);
        return pattern switch
        {
            "dense" => new BenchCase(pattern, BenchLayouts.Dense(BlockSize, blocks, blocks), false, shape),
            "causal" => new BenchCase(pattern, BenchLayouts.LowerTriangle(BlockSize, blocks), true, shape),
            "bigbird10" => new BenchCase(pattern, BenchLayouts.BigBirdLike(BlockSize, blocks, Heads), false, shape),
            _ => throw new ArgumentOutOfRangeException(nameof(pattern), pattern, "Use dense, causal or bigbird10."),
        };
    }

    public static double Flops(ParameterInstances parameters) =>
        CreateCase((string)parameters["Pattern"], (int)parameters["Sequence"]).Flops;
}
