namespace SparseNative.Cli.Compute;

/// <summary>
/// Whether an attention run is causal: the one place the CLI decides it, for the reference check, the flop count, the
/// dense baseline and what it prints. <c>--causal</c> always forces the token-level causal mask; a layout built by a causal
/// pattern (causal, strided, phi3, <c>--unidirectional</c> ones) asks for it too.
/// </summary>
internal static class Causality
{
    /// <summary>Whether attention with this layout and <c>--causal</c> setting is causal (what <c>Forward</c> applies).</summary>
    public static bool EffectiveCausal(BlockLayout layout, bool causalOption) => causalOption || layout.IsCausal;

    /// <inheritdoc cref="EffectiveCausal(BlockLayout, bool)"/>
    public static bool EffectiveCausal(BlockLayout layout, AttentionOptions options) => EffectiveCausal(layout, options.Causal);

    /// <summary>How a report says it: "yes (--causal)", "yes (the layout is causal)" or "no".</summary>
    public static string Describe(BlockLayout layout, bool causalOption) =>
        causalOption ? "yes (--causal)" : layout.IsCausal ? "yes (the layout is causal)" : "no";
}
