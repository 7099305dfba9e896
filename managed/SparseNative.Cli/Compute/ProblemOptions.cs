using System.CommandLine;
using SparseNative.Cli.Hosting;

namespace SparseNative.Cli.Compute;

/// <summary>Options of every command that computes attention: backend, threads, causal mask, scale, timing.</summary>
internal sealed class ProblemOptions
{
    public Option<string> Backend { get; } = new("--backend")
    {
        Description = $"Backend: {EnumOption.Names<Backend>()} (default auto).",
        DefaultValueFactory = _ => "auto",
    };
    public Option<int> Threads { get; } = new("--threads") { Description = "Worker threads; 0 = all cores.", DefaultValueFactory = _ => 0 };
    public Option<bool> Causal { get; } = new("--causal") { Description = "Token-level causal mask on top of the layout (bottom-right aligned)." };
    public Option<float?> Scale { get; } = new("--scale") { Description = "Multiplier of QKᵀ (default 1/√d)." };
    public Option<int> Runs { get; } = new("--runs") { Description = "Timed runs; the median is reported.", DefaultValueFactory = _ => 3 };
    public Option<int> Warmup { get; } = new("--warmup") { Description = "Untimed runs first (the first call pays for fresh memory pages).", DefaultValueFactory = _ => 1 };

    /// <summary>Adds the options; <paramref name="warmup"/> false for commands that always do one untimed call themselves.</summary>
    public void AddTo(Command command, bool warmup = true)
    {
        foreach (var o in new Option[] { Backend, Threads, Causal, Scale, Runs }) command.Options.Add(o);
        if (warmup) command.Options.Add(Warmup);
    }

    public static Backend ParseBackend(string text) => EnumOption.Parse<Backend>(text, "--backend");

    public AttentionOptions Read(ParseResult r, TensorFormat format)
    {
        int threads = r.GetValue(Threads);
        if (threads < 0) throw new ArgumentOutOfRangeException("--threads", threads, "--threads must be 0 (all cores) or positive.");
        float? scale = r.GetValue(Scale);
        if (scale is { } s && !float.IsFinite(s)) throw new ArgumentOutOfRangeException("--scale", s, "--scale must be finite.");
        return new AttentionOptions
        {
            Backend = ParseBackend(r.GetValue(Backend)!),
            MaxThreads = threads,
            Causal = r.GetValue(Causal),
            Scale = scale,
            Format = format,
        };
    }

    public (int Warmup, int Runs) ReadTiming(ParseResult r)
    {
        int runs = r.GetValue(Runs), warmup = r.GetValue(Warmup);
        if (runs < 1) throw new ArgumentOutOfRangeException("--runs", runs, "--runs must be at least 1.");
        if (warmup < 0) throw new ArgumentOutOfRangeException("--warmup", warmup, "--warmup must be 0 or more.");
        return (warmup, runs);
    }

    /// <summary>Parses <c>B,H,S,D</c>.</summary>
    public static AttentionShape ParseShape(string text, int? kvHeads)
    {
        var v = ListParser.Ints(text, "--random-inputs", positive: true);
        if (v.Length != 4) throw new ArgumentException($"--random-inputs needs B,H,S,D (four numbers), got '{text}'.", "--random-inputs");
        var shape = new AttentionShape(v[0], v[1], kvHeads ?? v[1], v[2], v[2], v[3]);
        shape.Validate("--random-inputs");
        return shape;
    }
}
