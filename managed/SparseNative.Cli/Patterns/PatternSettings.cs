namespace SparseNative.Cli.Patterns;

/// <summary>
/// The pattern parameters given on the command line; <c>null</c> means "the pattern's default" (defaults differ per
/// pattern, e.g. BigBird's one random block vs Variable's none, so they live in <see cref="PatternCatalog"/>).
/// </summary>
internal sealed record PatternSettings
{
    public int? Window { get; init; }
    public int? Local { get; init; }
    public int? Stride { get; init; }
    public int? Layouts { get; init; }
    public int? NumLocal { get; init; }
    public int? NumGlobal { get; init; }
    public int? DifferentGlobal { get; init; }
    public int? Random { get; init; }
    public int? Sliding { get; init; }
    public int[]? LocalWindows { get; init; }
    public int[]? Global { get; init; }
    public int[]? GlobalEnd { get; init; }
    public int? Span { get; init; }
    public int? Dilation { get; init; }
    public bool Unidirectional { get; init; }
    public bool Horizontal { get; init; }
    public int? TopK { get; init; }
    public double? Mass { get; init; }
    public int? KeepFirst { get; init; }
    public int? KeepWindow { get; init; }
    public int Seed { get; init; }
}

/// <summary>What a pattern needs to build a layout for one problem.</summary>
/// <param name="QueryLength">Query tokens.</param>
/// <param name="KeyLength">Key tokens (only dense and causal allow it to differ).</param>
/// <param name="BlockSize">Tokens per block.</param>
/// <param name="Heads">Query heads: patterns with per-head variation build this many lists.</param>
/// <param name="Settings">The pattern parameters.</param>
/// <param name="Inputs">
/// The tensors, when the command has them (<c>run</c>, <c>bench</c>, <c>demo</c>); <c>null</c> for <c>layout</c>.
/// Data-dependent patterns (the <c>topk</c> block selection from pooled Q·Kᵀ) read Q and K from here.
/// </param>
internal sealed record PatternRequest(int QueryLength, int KeyLength, int BlockSize, int Heads, PatternSettings Settings,
    PatternInputs? Inputs = null);

/// <summary>Q and K of the problem a layout is built for (see <see cref="PatternRequest.Inputs"/>).</summary>
/// <param name="Query">Q.</param>
/// <param name="Key">K.</param>
/// <param name="Shape">The sizes.</param>
/// <param name="Format">Memory layout of Q and K.</param>
/// <param name="Causal">Whether the attention is causal (a selection then drops fully masked blocks).</param>
/// <param name="Scale">The attention's scale (null = 1/√d).</param>
internal sealed record PatternInputs(ReadOnlyMemory<float> Query, ReadOnlyMemory<float> Key, AttentionShape Shape, TensorFormat Format,
    bool Causal = false, float? Scale = null);
