using SparseNative.Cli;
using SparseNative.Cli.Hosting;
using SparseNative.Cli.Npy;

namespace SparseNative.Fuzz;

/// <summary>
/// The managed fuzz harnesses. Each turns arbitrary bytes into one call of the public API (or the CLI's parsers) and lets
/// only the documented exceptions through: <see cref="ArgumentException"/> (and its family, <see cref="InvalidLayoutException"/>
/// included), <see cref="BackendUnavailableException"/>, and for the .npy reader <see cref="NpyFormatException"/>. Anything
/// else escapes and is a finding.
/// </summary>
internal static class Harnesses
{
    public delegate void Harness(ReadOnlySpan<byte> data);

    public static readonly IReadOnlyDictionary<string, Harness> All = new Dictionary<string, Harness>
    {
        ["layout-import"] = LayoutImport,
        ["forward"] = Forward,
        ["selection"] = Selection,
        ["npy"] = NpyReader,
        ["cli-args"] = CliArguments,
    };

    /// <summary>
    /// Harnesses whose inputs state sizes outright (a command line asking for a 2³¹-token layout): there a large allocation
    /// is what was asked for, not a size taken on trust from a few bytes, so the per-execution allocation bound of
    /// <see cref="Campaign"/> does not apply (the fuzz step's GC heap limit still does).
    /// </summary>
    public static readonly IReadOnlySet<string> SizesFromArguments = new HashSet<string> { "cli-args" };

    /// <summary>Whether <paramref name="e"/> is one of the exceptions the API documents for bad input.</summary>
    public static bool IsDocumented(Exception e) => e is ArgumentException or BackendUnavailableException or NpyFormatException;

    private static void Guard(Action call)
    {
        try { call(); }
        catch (Exception e) when (IsDocumented(e)) { }
    }

    // ---- layouts ----------------------------------------------------------------------------------------------------

    private static void LayoutImport(ReadOnlySpan<byte> data)
    {
        var f = new FuzzInput(data);
        int block = f.Pick(16, 32, 64, 128, 8, 0, 48);
        switch (f.Byte() % 5)
        {
            case 0:
            {
                int qb = f.Small(0, 6), kb = f.Small(0, 6), lists = f.Small(0, 3);
                var offsets = f.Ints(f.Dim(30), -1, 8);
                var cols = f.Ints(f.Dim(40), -1, 7);
                Guard(() => Use(BlockLayout.FromCsr(block, qb, kb, offsets, cols, lists)));
                break;
            }
            case 1:
            {
                int heads = f.Small(0, 3), blocks = f.Small(0, 5);
                var layout = f.Ints(f.LengthNear((long)heads * blocks * blocks), -1, 1);
                Guard(() => Use(BlockLayout.FromDeepSpeed(layout, heads, blocks, block)));
                break;
            }
            case 2:
            {
                int lists = f.Small(0, 3);
                bool causal = f.Bool();
                var rows = f.Ints(f.Dim(20), -1, 8);
                var cols = f.Ints(f.Dim(30), -1, 7);
                Guard(() => Use(BlockLayout.FromOnnxRuntime(rows, cols, lists, block, causal)));
                break;
            }
            case 3:
            {
                int qb = f.Dim(6), kb = f.Dim(6);
                var mask = new bool[qb, kb];
                for (int i = 0; i < qb; i++) for (int j = 0; j < kb; j++) mask[i, j] = f.Bool();
                Guard(() => Use(BlockLayout.FromDense(mask, block)));
                break;
            }
            default:
            {
                int lists = f.Dim(3), qb = f.Dim(6), kb = f.Dim(6);
                var mask = new bool[lists, qb, kb];
                for (int l = 0; l < lists; l++) for (int i = 0; i < qb; i++) for (int j = 0; j < kb; j++) mask[l, i, j] = f.Bool();
                Guard(() => Use(BlockLayout.FromDense(mask, block)));
                break;
            }
        }
    }

    /// <summary>Reads everything a valid layout exposes, so a layout that was accepted but is inconsistent faults here.</summary>
    private static void Use(BlockLayout l)
    {
        long n = 0;
        for (int list = 0; list < l.LayoutCount; list++)
            for (int r = 0; r < l.QueryBlocks; r++)
                foreach (int c in l.Row(list, r))
                    if ((uint)c >= (uint)l.KeyBlocks) throw new InvalidOperationException($"accepted layout holds column {c} of {l.KeyBlocks}");
                    else n++;
        _ = l.Density;
        _ = l.ToString();
        if (n != l.AllColumnIndices.Length) throw new InvalidOperationException($"rows hold {n} columns, the arrays {l.AllColumnIndices.Length}");
    }

    private static BlockLayout? FuzzedLayout(ref FuzzInput f, AttentionShape s)
    {
        int block = f.Pick(16, 32, 64, 128, 8);
        int qb = Math.Clamp(BlockLayout.BlocksFor(Math.Max(1, s.QueryLength), 16) * 16 / block + f.Small(-1, 1), 0, 8);
        int kb = Math.Clamp(BlockLayout.BlocksFor(Math.Max(1, s.KeyLength), 16) * 16 / block + f.Small(-1, 1), 0, 8);
        int lists = f.Pick(1, 1, Math.Clamp(s.QueryHeads, 1, 8), 2, 3);
        var mask = new bool[lists, qb, kb];
        for (int l = 0; l < lists; l++) for (int i = 0; i < qb; i++) for (int j = 0; j < kb; j++) mask[l, i, j] = f.Byte() < 200;
        try { return BlockLayout.FromDense(mask, block); }
        catch (ArgumentException) { return null; }
    }

    // ---- attention ----------------------------------------------------------------------------------------------------

    private static AttentionShape FuzzedShape(ref FuzzInput f) => new(f.Small(1, 2), f.Small(1, 4), f.Small(1, 4),
        f.Small(1, 40), f.Small(1, 40), f.Pick(8, 16, 24, 32, 40, 64, 0, 7, 12, 100, 264));

    private static void Forward(ReadOnlySpan<byte> data)
    {
        var f = new FuzzInput(data);
        var s = FuzzedShape(ref f);
        if (FuzzedLayout(ref f, s) is not { } layout) return;
        var q = f.Floats(f.LengthNear(s.QueryElements));
        var k = f.Floats(f.LengthNear(s.KeyElements));
        var v = f.Floats(f.LengthNear(s.KeyElements));
        var o = new float[f.LengthNear(s.QueryElements)];
        var lse = f.Bool() ? [] : new float[f.LengthNear(s.LogSumExpElements)];
        var options = new AttentionOptions
        {
            Backend = (Backend)f.Small(0, 8), // 8 is no backend
            Format = (TensorFormat)f.Small(0, 2),
            Causal = f.Bool(),
            Scale = f.Bool() ? null : f.Float(),
            MaxThreads = f.Small(-1, 3),
            CheckFinite = f.Byte() < 200,
            QuerySegmentIds = f.Byte() < 200 ? default : f.Ints(f.LengthNear((long)s.Batch * s.QueryLength), -1, 3),
            KeySegmentIds = f.Byte() < 200 ? default : f.Ints(f.LengthNear((long)s.Batch * s.KeyLength), -1, 3),
        };
        int mode = f.Byte() % 3;
        int splits = f.Small(0, 5);
        Guard(() =>
        {
            if (mode == 0) SparseAttention.ForwardSplitKeys(q, k, v, o, s, layout, options, lse, splits);
            else SparseAttention.Forward(q, k, v, o, s, layout, options, lse);
            // Finite inputs of ordinary size give a finite output (docs/SEMANTICS.md: never NaN).
            if (Ordinary(q) && Ordinary(k) && Ordinary(v) && options.Scale is null or (> 0 and < 10) && o.Any(float.IsNaN))
                throw new InvalidOperationException($"NaN output from finite inputs on {options.Backend}");
        });
        if (mode == 2)
        {
            var o2 = new float[o.Length];
            var lse2 = new float[lse.Length];
            var format = options.Format;
            Guard(() => SparseAttention.MergeStates(o, lse, o2, lse2, o2, lse2, s, format));
        }
    }

    private static bool Ordinary(float[] x) => x.All(e => float.IsFinite(e) && MathF.Abs(e) < 1e4f);

    private static void Selection(ReadOnlySpan<byte> data)
    {
        var f = new FuzzInput(data);
        var s = FuzzedShape(ref f);
        int block = f.Pick(16, 32, 64, 128, 8, 0);
        var q = f.Floats(f.LengthNear(s.QueryElements));
        var k = f.Floats(f.LengthNear(s.KeyElements));
        var format = (TensorFormat)f.Small(0, 2);
        bool causal = f.Bool();
        int keepFirst = f.Small(-1, 3), window = f.Small(-1, 3), threads = f.Small(-1, 3);
        if (f.Bool())
        {
            var options = new TopKOptions
            {
                K = f.Small(-1, 6), MassThreshold = f.Bool() ? null : f.Pick(0.5, 0.9, 1.0, 0.0, -1.0, double.NaN, 1.5),
                MassMaxBlocks = f.Small(-1, 4), PerKeyValueGroup = f.Bool(), KeepFirstBlocks = keepFirst, KeepDiagonal = f.Bool(),
                KeepLocalWindow = window, Causal = causal, Format = format, MaxThreads = threads,
                Scale = f.Bool() ? null : f.Float(),
            };
            Guard(() => Use(BlockSelection.TopK(q, k, s, block, options)));
        }
        else
        {
            var options = new RoutingOptions
            {
                Clusters = f.Small(-1, 6), TopClusters = f.Small(-1, 3), Iterations = f.Small(-1, 4), Seed = (ulong)f.Int(),
                KeepFirstBlocks = keepFirst, KeepLocalWindow = window, Causal = causal, Format = format, MaxThreads = threads,
            };
            Guard(() => Use(BlockSelection.Routing(q, k, s, block, options)));
        }
    }

    // ---- command-line tool --------------------------------------------------------------------------------------------

    private static readonly string NpyFile = Path.Combine(Path.GetTempPath(), $"sparsenative-fuzz-{Environment.ProcessId}.npy");

    private static void NpyReader(ReadOnlySpan<byte> data)
    {
        var f = new FuzzInput(data);
        bool ints = f.Bool();
        File.WriteAllBytes(NpyFile, f.Rest().ToArray());
        Guard(() =>
        {
            if (ints) _ = Npy.ReadInts(NpyFile);
            else _ = Npy.ReadFloats(NpyFile);
        });
    }

    private static readonly string[] Words =
    [
        "--causal", "--cell", "--check", "--check-blocks", "--format", "--head-dim", "--heads", "--json", "--k", "--kv-heads",
        "--lse", "--max-panels", "--no-preview", "--panel", "--q", "--random-inputs", "--seed", "--seq", "--tolerance", "--v",
        "--width", "--pattern", "--block", "--help", "--backend", "--threads", "-h",
        "0", "1", "-1", "2", "3", "16", "32", "64", "65", "2147483647", "2147483648", "-2147483648", "1e9", "NaN", "0.5", "",
        "1,2", "1,,2", "abc", "bshd", "BHSD", "auto", "reference", "portable", "nativecpu", "cuda", "bigbird", "local", "fixed",
        "dense", "strided", "topk", "a.npy", "missing.npy", "=", "--seq=64", "--heads=0",
    ];

    private static readonly string[] Commands = ["layout", "run", "info", "layout", "run"];

    private static void CliArguments(ReadOnlySpan<byte> data)
    {
        var f = new FuzzInput(data);
        var args = new List<string> { f.Pick(Commands) };
        int n = f.Dim(12);
        for (int i = 0; i < n; i++) args.Add(f.Pick(Words));
        // The tool turns every failure into an exit code and a message; nothing may escape Program.Run.
        using var output = new StringWriter();
        using var error = new StringWriter();
        int rc = SparseNative.Cli.Program.Run([.. args], output, error);
        if (rc is not (ExitCodes.Ok or ExitCodes.Failure or ExitCodes.BadInput or ExitCodes.CheckFailed))
            throw new InvalidOperationException($"exit code {rc} is not one of the documented ones for: {string.Join(' ', args)}");
    }
}
