using SparseNative.Bench.Common;

namespace SparseNative.Bench.Soak;

/// <summary>Command-line options of <c>soak</c>.</summary>
internal sealed record SoakOptions
{
    public long Calls { get; init; } = 100_000;
    public double Seconds { get; init; }
    public int Threads { get; init; } = 2;
    public int Seed { get; init; } = 15;
    public long? Warmup { get; init; }
    public int Checkpoints { get; init; } = 4;
    public int VerifyEvery { get; init; } = 101;
    public string? OutFile { get; init; }

    /// <summary>Calls before the baseline snapshot: a tenth of the run unless given (JIT tiering, pools and scratch settle there).</summary>
    public long WarmupCalls => Math.Min(Calls, Warmup ?? Math.Max(1, Calls / 10));

    public const string Usage = """
        soak [--calls 100000] [--seconds 0] [--threads 2] [--seed 15] [--warmup N] [--checkpoints 4] [--verify-every 101] [--out file.md]
          --calls         mixed calls to make, drawn deterministically from the seed
          --seconds       stop earlier once this many seconds have passed (0: no limit)
          --threads       caller threads making the calls at once (each call's own MaxThreads is 1 or all cores)
          --seed          seed of the call mix: the same seed and count give the same calls
          --warmup        calls before the baseline snapshot (default: a tenth of --calls); growth is judged from there
          --checkpoints   snapshots between the warm-up and the end
          --verify-every  every N-th call keeps its result, is run again later and must give the same bits (forward
                          calls are also compared with the float64 reference)
          --out           also write the Markdown report to this file
        Exits 0 when every resource stayed within its limit and every check passed, 1 otherwise, 2 on a bad option.
        """;

    public static SoakOptions Parse(IReadOnlyList<string> args)
    {
        var o = new SoakOptions();
        var r = new OptionReader(args);
        while (r.MoveNext())
        {
            o = r.Current switch
            {
                "--calls" => o with { Calls = r.Long(1) },
                "--seconds" => o with { Seconds = r.Long(0) },
                "--threads" => o with { Threads = r.Int(1) },
                "--seed" => o with { Seed = r.Int(0) },
                "--warmup" => o with { Warmup = r.Long(1) },
                "--checkpoints" => o with { Checkpoints = r.Int(0) },
                "--verify-every" => o with { VerifyEvery = r.Int(1) },
                "--out" => o with { OutFile = r.Value() },
                _ => throw new ArgumentException($"Unknown option '{r.Current}'.\n{Usage}", nameof(args)),
            };
        }
        if (o.Warmup is { } w && w >= o.Calls)
            throw new ArgumentException($"Option --warmup ({w}) must be below --calls ({o.Calls}): growth is measured after it.", nameof(args));
        return o;
    }
}
