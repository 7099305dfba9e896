namespace SparseNative.Cli.Patterns;

/// <summary>One pattern the CLI can build: its name, what it is, which options it reads, and the builder.</summary>
internal sealed record PatternEntry(string Name, string Summary, string Options, Func<PatternRequest, BlockLayout> Build)
{
    /// <summary>Whether the pattern needs Q and K (<see cref="PatternRequest.Inputs"/>); the <c>layout</c> command cannot draw those.</summary>
    public bool NeedsInputs { get; init; }
}

/// <summary>
/// Every pattern of <see cref="BlockPatterns"/> by its command-line name, with the defaults used when an option is not
/// given. The names and defaults are documented in docs/CLI.md; keep the two in step.
/// </summary>
internal static class PatternCatalog
{
    public static IReadOnlyList<PatternEntry> All { get; } =
    [
        new("dense", "every block (the baseline)", "", r => BlockPatterns.Dense(r.QueryLength, r.BlockSize, r.KeyLength)),
        new("causal", "the lower block triangle (bottom-right aligned)", "",
            r => BlockPatterns.Causal(r.QueryLength, r.BlockSize, r.KeyLength)),
        new("local", "a sliding window of --window blocks each side of the diagonal (--unidirectional: left side only)", "--window (1)",
            r => BlockPatterns.LocalWindow(Square(r), r.BlockSize, r.Settings.Window ?? 1, r.Settings.Unidirectional)),
        new("block-diagonal", "each block attends only to itself", "",
            r => BlockPatterns.BlockDiagonal(Square(r), r.BlockSize)),
        new("strided", "causal local band of --local blocks plus every --stride-th column (ONNX Runtime / Phi-3 rule)",
            "--local (4), --stride (8), --layouts (1)",
            r => BlockPatterns.Strided(Square(r), r.BlockSize, r.Settings.Local ?? 4, r.Settings.Stride ?? 8, r.Settings.Layouts ?? 1)),
        new("phi3", "Phi-3-small: block 64, local 16, vertical stride 8", "--layouts (1)",
            r => BlockPatterns.Phi3Small(Square(r), r.Settings.Layouts ?? 1)),
        new("fixed", "DeepSpeed Fixed: local windows plus global columns", "--num-local (4), --num-global (1), --unidirectional, --horizontal, --different-global (1)",
            r => BlockPatterns.Fixed(Square(r), r.BlockSize, r.Settings.NumLocal ?? 4, r.Settings.NumGlobal ?? 1, r.Settings.Unidirectional,
                r.Settings.Horizontal, r.Settings.DifferentGlobal ?? 1, r.Heads)),
        new("variable", "DeepSpeed Variable: random, variable local windows, global ranges",
            "--random-blocks (0), --local-windows (4), --global (0), --global-end, --unidirectional, --horizontal, --layout-seed",
            r => BlockPatterns.Variable(Square(r), r.BlockSize, r.Settings.Random ?? 0, r.Settings.LocalWindows, r.Settings.Global,
                r.Settings.GlobalEnd, r.Settings.Unidirectional, r.Settings.Horizontal, r.Heads, r.Settings.Seed)),
        new("bigbird", "BigBird: random + sliding window + global blocks", "--random-blocks (1), --sliding (3), --num-global (1), --unidirectional, --layout-seed",
            r => BlockPatterns.BigBird(Square(r), r.BlockSize, r.Settings.Random ?? 1, r.Settings.Sliding ?? 3, r.Settings.NumGlobal ?? 1,
                r.Settings.Unidirectional, r.Heads, r.Settings.Seed)),
        new("longformer", "DeepSpeed BSLongformer: sliding window + global rows and columns", "--sliding (3), --global (0), --global-end, --unidirectional",
            r => BlockPatterns.BSLongformer(Square(r), r.BlockSize, r.Settings.Sliding ?? 3, r.Settings.Global, r.Settings.GlobalEnd,
                r.Settings.Unidirectional, r.Heads)),
        new("dilated", "every --dilation-th block within --span blocks of the diagonal", "--span (8), --dilation (2), --unidirectional",
            r => BlockPatterns.Dilated(Square(r), r.BlockSize, r.Settings.Span ?? 8, r.Settings.Dilation ?? 2, r.Settings.Unidirectional)),
        // Data-dependent patterns register with NeedsInputs = true and read Q and K from PatternRequest.Inputs.
        new("topk", "data-dependent: keep-set (sink blocks, diagonal, local window) + the --top-k best pooled Q·Kᵀ blocks per query block, or a softmax-mass --mass τ (BlockSelection.TopK)",
            "--top-k (8), --mass, --keep-first (1), --keep-window (0)", TopK) { NeedsInputs = true },
    ];

    private static BlockLayout TopK(PatternRequest r)
    {
        var x = r.Inputs!;
        var options = new TopKOptions
        {
            K = r.Settings.TopK ?? 8,
            MassThreshold = r.Settings.Mass,
            KeepFirstBlocks = r.Settings.KeepFirst ?? 1,
            KeepLocalWindow = r.Settings.KeepWindow ?? 0,
            Causal = x.Causal,
            Format = x.Format,
            Scale = x.Scale,
        };
        return BlockSelection.TopK(x.Query.Span, x.Key.Span, x.Shape, r.BlockSize, options);
    }

    /// <summary>The names, for help text and error messages.</summary>
    public static string Names => string.Join(", ", All.Select(p => p.Name));

    /// <summary>Looks a pattern up by name (case-insensitive; "bslongformer" and "phi3small" are accepted aliases).</summary>
    /// <exception cref="ArgumentException">No pattern has that name.</exception>
    public static PatternEntry Find(string name)
    {
        // An unknown option lands here as the pattern argument; say what it really is.
        if (name.StartsWith('-'))
            throw new ArgumentException($"Unrecognized option '{name}'. See --help for the options of this command.", "pattern");
        string key = name.Trim().ToLowerInvariant() switch
        {
            "bslongformer" => "longformer",
            "phi3small" or "phi-3" or "phi3-small" => "phi3",
            "blockdiagonal" => "block-diagonal",
            "localwindow" or "window" => "local",
            var other => other,
        };
        return All.FirstOrDefault(p => p.Name == key)
            ?? throw new ArgumentException($"Unknown pattern '{name}'; use one of {Names}.", "pattern");
    }

    /// <summary>Builds a layout, first checking what the pattern itself cannot know (square attention, available inputs).</summary>
    public static BlockLayout Build(PatternEntry entry, PatternRequest request)
    {
        if (entry.NeedsInputs && request.Inputs is null)
            throw new ArgumentException(
                $"Pattern '{entry.Name}' selects blocks from Q and K, so it needs tensors: use 'run {entry.Name} --q … --k … --v …' " +
                "(or --random-inputs B,H,S,D) with --layout-png to draw the layout it selects.", "pattern");
        return entry.Build(request);
    }

    // Every pattern except dense and causal is defined for self-attention only.
    private static int Square(PatternRequest r) => r.QueryLength == r.KeyLength
        ? r.QueryLength
        : throw new ArgumentException(
            $"This pattern is defined for self-attention (query length = key length); got {r.QueryLength} queries and {r.KeyLength} keys. " +
            "Use dense, causal or a layout file for cross attention.", "pattern");
}
