using System.CommandLine;
using SparseNative.Cli.Npy;

namespace SparseNative.Cli.Patterns;

/// <summary>
/// The options that choose a layout — a pattern name with its parameters, or a DeepSpeed / ONNX Runtime layout file —
/// shared by <c>layout</c>, <c>run</c>, <c>bench</c> and <c>demo</c>. Each command gets its own instances.
/// </summary>
internal sealed class LayoutOptions
{
    public Option<int?> Block { get; } = new("--block", "-b") { Description = "Block size in tokens: 16, 32, 64 or 128 (default 64)." };
    public Option<string?> From { get; } = new("--from") { Description = "A DeepSpeed layout: an integer .npy of shape (heads, blocks, blocks) or (blocks, blocks), 1 = compute the block, 0 = skip." };
    public Option<string[]?> FromOrt { get; } = new("--from-ort")
    {
        Description = "An ONNX Runtime layout: block_row_indices.npy (layouts, blocks+1) and block_col_indices.npy (layouts, max_nnz, padded with -1).",
        Arity = new ArgumentArity(2, 2),
        AllowMultipleArgumentsPerToken = true,
    };
    private readonly Option<int?> _window = new("--window") { Description = "local: blocks on each side of the diagonal (1)." };
    private readonly Option<int?> _local = new("--local") { Description = "strided: causal local band in blocks (4)." };
    private readonly Option<int?> _stride = new("--stride") { Description = "strided: vertical stride in blocks (8)." };
    private readonly Option<int?> _layouts = new("--layouts") { Description = "strided, phi3: distinct layouts (ONNX Runtime num_layout) (1)." };
    private readonly Option<int?> _numLocal = new("--num-local") { Description = "fixed: local window in blocks (4)." };
    private readonly Option<int?> _numGlobal = new("--num-global") { Description = "fixed, bigbird: global blocks (1)." };
    private readonly Option<int?> _differentGlobal = new("--different-global") { Description = "fixed: distinct global patterns across heads (1)." };
    private readonly Option<int?> _randomBlocks = new("--random-blocks") { Description = "bigbird (1), variable (0): random blocks per row." };
    private readonly Option<int?> _sliding = new("--sliding") { Description = "bigbird, longformer: sliding window in blocks (3)." };
    private readonly Option<string?> _localWindows = new("--local-windows") { Description = "variable: local window sizes in blocks, e.g. 4,8 (the last repeats) (4)." };
    private readonly Option<string?> _global = new("--global") { Description = "variable, longformer: global block indices, e.g. 0,5 (0)." };
    private readonly Option<string?> _globalEnd = new("--global-end") { Description = "variable, longformer: end (exclusive) of each global range." };
    private readonly Option<int?> _span = new("--span") { Description = "dilated: reach in blocks each side of the diagonal (8)." };
    private readonly Option<int?> _dilation = new("--dilation") { Description = "dilated: keep every n-th block (2)." };
    private readonly Option<bool> _unidirectional = new("--unidirectional") { Description = "Layout-level causality (local, fixed, variable, bigbird, longformer, dilated)." };
    private readonly Option<bool> _horizontal = new("--horizontal") { Description = "fixed, variable: global rows attend everything too." };
    private readonly Option<int?> _topK = new("--top-k") { Description = "topk: blocks chosen per query block beyond the keep-set (8)." };
    private readonly Option<double?> _mass = new("--mass") { Description = "topk: choose by pooled softmax mass τ in (0, 1] instead of --top-k." };
    private readonly Option<int?> _keepFirst = new("--keep-first") { Description = "topk: always keep the first n key blocks (attention sinks) (1)." };
    private readonly Option<int?> _keepWindow = new("--keep-window") { Description = "topk: always keep blocks within n of the diagonal (0)." };
    private readonly Option<int> _seed = new("--layout-seed") { Description = "Seed of the random blocks (bigbird, variable) (0)." };

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { Block, From, FromOrt, _window, _local, _stride, _layouts, _numLocal, _numGlobal, _differentGlobal,
                     _randomBlocks, _sliding, _localWindows, _global, _globalEnd, _span, _dilation, _unidirectional, _horizontal, _topK, _mass, _keepFirst, _keepWindow, _seed })
            command.Options.Add(o);
    }

    /// <summary>Reads the layout choice; <paramref name="patterns"/> are the pattern names given (none when a file is used).</summary>
    public LayoutChoice Read(ParseResult r, IReadOnlyList<string> patterns)
    {
        string? from = r.GetValue(From);
        string[]? ort = r.GetValue(FromOrt) is { Length: > 0 } files ? files : null;
        int sources = (from is null ? 0 : 1) + (ort is null ? 0 : 1) + (patterns.Count > 0 ? 1 : 0);
        if (sources != 1)
            throw new ArgumentException(sources == 0
                ? $"Give a pattern ({PatternCatalog.Names}) or a layout file (--from deepspeed.npy, --from-ort rows.npy cols.npy)."
                : "Give either pattern names or one layout file (--from / --from-ort), not several.", "pattern");
        var settings = new PatternSettings
        {
            Window = r.GetValue(_window), Local = r.GetValue(_local), Stride = r.GetValue(_stride), Layouts = r.GetValue(_layouts),
            NumLocal = r.GetValue(_numLocal), NumGlobal = r.GetValue(_numGlobal), DifferentGlobal = r.GetValue(_differentGlobal),
            Random = r.GetValue(_randomBlocks), Sliding = r.GetValue(_sliding),
            LocalWindows = Hosting.ListParser.IntsOrNull(r.GetValue(_localWindows), "--local-windows"),
            Global = Hosting.ListParser.IntsOrNull(r.GetValue(_global), "--global"),
            GlobalEnd = Hosting.ListParser.IntsOrNull(r.GetValue(_globalEnd), "--global-end"),
            Span = r.GetValue(_span), Dilation = r.GetValue(_dilation),
            Unidirectional = r.GetValue(_unidirectional), Horizontal = r.GetValue(_horizontal), Seed = r.GetValue(_seed),
            TopK = r.GetValue(_topK), Mass = r.GetValue(_mass), KeepFirst = r.GetValue(_keepFirst), KeepWindow = r.GetValue(_keepWindow),
        };
        int? block = r.GetValue(Block);
        var entries = patterns.Select(PatternCatalog.Find).ToArray();
        if (entries.Any(e => e.Name == "phi3") && block is { } b && b != 64)
            throw new ArgumentException($"--block {b}: the Phi-3-small layout is defined for block 64.", "--block");
        return new LayoutChoice(entries, settings, block, from, ort);
    }

    /// <summary>Whether a layout file option was given (commands with a default pattern use it only when none was).</summary>
    public bool HasFile(ParseResult r) => r.GetValue(From) is not null || r.GetValue(FromOrt) is { Length: > 0 };
}

/// <summary>A parsed layout choice: the patterns (several for <c>bench</c>) or one layout file.</summary>
internal sealed record LayoutChoice(PatternEntry[] Patterns, PatternSettings Settings, int? BlockOption, string? DeepSpeedFile, string[]? OrtFiles)
{
    /// <summary>The block size: the option, else 64.</summary>
    public int BlockSize => Patterns.Any(p => p.Name == "phi3") ? 64 : BlockOption ?? 64;

    public bool IsFile => DeepSpeedFile is not null || OrtFiles is not null;

    /// <summary>A short name for tables: the pattern, or the file name.</summary>
    public string Label(int index = 0) => IsFile ? Path.GetFileName(DeepSpeedFile ?? OrtFiles![0]) : Patterns[index].Name;

    /// <summary>
    /// The layout for a problem. Files are cropped to the problem when they were made for a longer sequence (DeepSpeed and
    /// ONNX Runtime layouts are usually built for the maximum length); <paramref name="note"/> then says so.
    /// </summary>
    public BlockLayout Build(int index, int queryLength, int keyLength, int heads, PatternInputs? inputs, out string? note)
    {
        note = null;
        if (!IsFile) return PatternCatalog.Build(Patterns[index], new PatternRequest(queryLength, keyLength, BlockSize, heads, Settings, inputs));
        var layout = LoadFile();
        int qb = BlockLayout.BlocksFor(queryLength, BlockSize), kb = BlockLayout.BlocksFor(keyLength, BlockSize);
        if (layout.QueryBlocks >= qb && layout.KeyBlocks >= kb && (layout.QueryBlocks > qb || layout.KeyBlocks > kb))
        {
            note = $"the file's {layout.QueryBlocks}×{layout.KeyBlocks} block layout is cropped to {qb}×{kb} for {queryLength} tokens";
            layout = layout.Crop(qb, kb);
        }
        return layout;
    }

    /// <summary>The file's layout as stored (no cropping).</summary>
    public BlockLayout LoadFile()
    {
        if (DeepSpeedFile is { } ds)
        {
            var a = Npy.Npy.ReadInts(ds);
            (int heads, int n) = a.Shape switch
            {
                [var h, var r, var c] when r == c => (h, r),
                [var r, var c] when r == c => (1, r),
                _ => throw new ArgumentException($"{ds}: a DeepSpeed layout is (heads, blocks, blocks) or (blocks, blocks); got {a.ShapeText}.", "--from"),
            };
            if (heads == 0 || n == 0) throw new ArgumentException($"{ds}: the layout {a.ShapeText} is empty.", "--from");
            return FromFile(ds, "--from", () => BlockLayout.FromDeepSpeed(a.Data, heads, n, BlockSize));
        }
        var rows = Npy.Npy.ReadInts(OrtFiles![0]);
        var cols = Npy.Npy.ReadInts(OrtFiles[1]);
        if (rows.Shape.Length != 2 || cols.Shape.Length != 2 || rows.Shape[0] != cols.Shape[0] || rows.Shape[0] == 0)
            throw new ArgumentException(
                $"--from-ort: block_row_indices must be (layouts, blocks+1) and block_col_indices (layouts, max_nnz) with the same layouts; got {rows.ShapeText} and {cols.ShapeText}.",
                "--from-ort");
        return FromFile($"{OrtFiles[0]}, {OrtFiles[1]}", "--from-ort", () => BlockLayout.FromOnnxRuntime(rows.Data, cols.Data, rows.Shape[0], BlockSize));
    }

    // The library's layout errors give the index and value but cannot know the file: say which file it was.
    private static BlockLayout FromFile(string files, string option, Func<BlockLayout> read)
    {
        try { return read(); }
        catch (InvalidLayoutException e) { throw new ArgumentException($"{option} {files}: {Hosting.ErrorBoundary.MessageOf(e)}", option, e); }
    }
}
