using SparseNative.Bench.Common;

namespace SparseNative.Bench.Quick;

/// <summary>Command-line options of <c>quick</c>.</summary>
internal sealed record QuickOptions
{
    public int[] Threads { get; init; } = [1, 2];
    public int Sequence { get; init; } = 4096;
    public int Heads { get; init; } = 8;
    public int HeadDim { get; init; } = 64;
    public int BlockSize { get; init; } = 64;
    public int Runs { get; init; } = 5;
    public string? OutFile { get; init; }
    public bool Long { get; init; }
    public bool SkipOrt { get; init; }

    /// <summary>The backends to measure (all available ones when null).</summary>
    public IReadOnlySet<Backend>? Backends { get; init; }

    /// <summary>The sections to run (the peak always runs: every percentage needs it); all of them by default.</summary>
    public IReadOnlySet<string> Sections { get; init; } = AllSections;

    public static readonly IReadOnlySet<string> AllSections = new HashSet<string> { "kernels", "half", "backward", "ort", "density", "decode" };

    public bool Includes(string section) => Sections.Contains(section) && (section != "ort" || !SkipOrt);

    public const string Usage = """
        quick [--threads 1,2] [--seq 4096] [--heads 8] [--head-dim 64] [--block 64] [--runs 5] [--out file.md] [--long] [--no-ort] [--only kernels,half,backward,ort,density,decode] [--backends Avx512,...]
          --threads   thread counts to measure, comma separated (kernels: MaxThreads; ONNX Runtime: intra_op_num_threads)
          --seq       sequence length (query = key length), multiple of the block recommended
          --runs      timed runs per measurement (median reported; 2 untimed warm-up runs precede them), at least 5 for the docs
          --out       also write the Markdown report to this file
          --long      add the 1,048,576-token sliding-window run (4 heads, d=64, 4 blocks of 64): time and peak memory
          --no-ort    skip the ONNX Runtime comparisons
          --only      run only these sections (comma separated; the FMA peak is always measured), e.g. --only backward;
                      decode: the read bandwidth and a 128k-key GQA decode step, contiguous and paged (1 GiB of K/V)
          --backends  measure only these backends (comma separated, e.g. Avx512,Avx2; the float64 reference stays in)
        """;

    public static QuickOptions Parse(IReadOnlyList<string> args)
    {
        var o = new QuickOptions();
        var r = new OptionReader(args);
        while (r.MoveNext())
        {
            string a = r.Current;
            int NextBlockSize()
            {
                int bs = r.Int(1);
                if (!BlockLayout.SupportedBlockSizes.Contains(bs))
                    throw new ArgumentException($"Option --block must be 16, 32, 64 or 128, got {bs}.", nameof(args));
                return bs;
            }
            o = a switch
            {
                "--threads" => o with { Threads = ParseList(r.Value(), a) },
                "--seq" => o with { Sequence = r.Int(1) },
                "--heads" => o with { Heads = r.Int(1) },
                "--head-dim" => o with { HeadDim = r.Int(8) },
                "--block" => o with { BlockSize = NextBlockSize() },
                "--runs" => o with { Runs = r.Int(1) },
                "--out" => o with { OutFile = r.Value() },
                "--long" => o with { Long = true },
                "--no-ort" => o with { SkipOrt = true },
                "--only" => o with { Sections = ParseSections(r.Value()) },
                "--backends" => o with { Backends = ParseBackends(r.Value()) },
                _ => throw new ArgumentException($"Unknown option '{a}'.\n{Usage}", nameof(args)),
            };
        }
        return o;
    }

    private static HashSet<string> ParseSections(string value)
    {
        var set = new HashSet<string>(value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        foreach (string name in set)
            if (!AllSections.Contains(name))
                throw new ArgumentException($"Option --only takes {string.Join(", ", AllSections)}; got '{name}'.", nameof(value));
        if (set.Count == 0) throw new ArgumentException("Option --only needs at least one section.", nameof(value));
        return set;
    }

    private static HashSet<Backend> ParseBackends(string value)
    {
        var set = new HashSet<Backend> { Backend.Reference };
        foreach (string name in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            set.Add(Enum.TryParse<Backend>(name, ignoreCase: true, out var b) && b != Backend.Auto
                ? b
                : throw new ArgumentException($"Option --backends takes backend names ({string.Join(", ", Enum.GetNames<Backend>().Where(n => n != nameof(Backend.Auto)))}); got '{name}'.", nameof(value)));
        return set;
    }

    private static int[] ParseList(string value, string option)
    {
        var parts = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var list = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], out list[i]) || list[i] < 1)
                throw new ArgumentException($"Option {option} needs positive integers separated by commas, got '{value}'.", nameof(value));
        if (list.Length == 0) throw new ArgumentException($"Option {option} needs at least one value.", nameof(value));
        return list;
    }
}
