using System.Diagnostics;
using SparseNative.Bench.Common;

namespace SparseNative.Bench.Profile;

/// <summary>
/// The <c>profile</c> command: one call (forward or backward) of one case on one backend, repeated for a while and nothing
/// else, so that a sampling profiler sees only that call — e.g.
/// <c>DOTNET_PerfMapEnabled=1 perf record -g -- dotnet SparseNative.Bench.dll profile --pass backward</c>, then
/// <c>perf report --sort symbol</c>. Prints the calls made and the median time of one.
/// </summary>
internal static class ProfileLoop
{
    public const string Usage = """
        profile [--pass backward|forward] [--layout dense|causal|bigbird] [--seq 4096] [--heads 8] [--head-dim 64] [--block 64] [--backend Avx512] [--threads 1] [--seconds 20]
        """;

    public static int Run(IReadOnlyList<string> args)
    {
        string pass = "backward", layoutName = "dense";
        int seq = 4096, heads = 8, d = 64, bs = 64, threads = 1, seconds = 20;
        var backend = Backend.Avx512;
        var r = new OptionReader(args);
        while (r.MoveNext())
        {
            switch (r.Current)
            {
                case "--pass":
                    pass = r.Value();
                    if (pass is not ("backward" or "forward")) throw new ArgumentException("Option --pass takes backward or forward.", nameof(args));
                    break;
                case "--layout": layoutName = r.Value(); break;
                case "--seq": seq = r.Int(1); break;
                case "--heads": heads = r.Int(1); break;
                case "--head-dim": d = r.Int(8); break;
                case "--block": bs = r.Int(16); break;
                case "--backend": backend = Enum.Parse<Backend>(r.Value(), ignoreCase: true); break;
                case "--threads": threads = r.Int(1); break;
                case "--seconds": seconds = r.Int(1); break;
                default: throw new ArgumentException($"Unknown option '{r.Current}'.\n{Usage}", nameof(args));
            }
        }
        int blocks = (seq + bs - 1) / bs;
        var shape = AttentionShape.SelfAttention(1, heads, seq, d);
        var (layout, causal) = layoutName switch
        {
            "dense" => (BenchLayouts.Dense(bs, blocks, blocks), false),
            "causal" => (BenchLayouts.LowerTriangle(bs, blocks), true),
            "bigbird" => (BenchLayouts.BigBirdLike(bs, blocks, heads), false),
            _ => throw new ArgumentException($"Option --layout takes dense, causal or bigbird; got '{layoutName}'.", nameof(args)),
        };
        var data = new BenchData(shape);
        var lse = new float[shape.LogSumExpElements];
        var dO = BenchData.Random(shape.QueryElements, 7);
        float[] dQ = new float[shape.QueryElements], dK = new float[shape.KeyElements], dV = new float[shape.KeyElements];
        var options = new AttentionOptions { Backend = backend, Causal = causal, MaxThreads = threads, CheckFinite = false };
        Action call = pass == "forward"
            ? () => SparseAttention.Forward(data.Query, data.Key, data.Value, data.Output, shape, layout, options, lse)
            : () => SparseAttention.Backward(data.Query, data.Key, data.Value, data.Output, lse, dO, dQ, dK, dV, shape, layout, options);
        SparseAttention.Forward(data.Query, data.Key, data.Value, data.Output, shape, layout, options, lse);
        var times = new List<double>();
        var total = Stopwatch.StartNew();
        while (total.Elapsed.TotalSeconds < seconds)
        {
            long t0 = Stopwatch.GetTimestamp();
            call();
            times.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
        }
        times.Sort();
        Console.WriteLine($"{pass} {layoutName} S={seq} H={heads} d={d} block {bs} {backend} threads {threads}: {times.Count} calls, median {times[times.Count / 2]:F1} ms");
        return 0;
    }
}
