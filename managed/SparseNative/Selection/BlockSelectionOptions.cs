namespace SparseNative;

/// <summary>
/// What every data-dependent block selection (<see cref="BlockSelection.TopK(ReadOnlySpan{float}, ReadOnlySpan{float}, AttentionShape, int, TopKOptions)"/>, <see cref="BlockSelection.Routing"/>) shares:
/// the keep-set that is always selected, causality, the tensor format and the score scale.
/// </summary>
/// <remarks>
/// <para>The <em>diagonal</em> of query block <c>r</c> (tokens <c>i0 … i1−1</c>) is the key blocks holding keys
/// <c>i0 + (KeyLength − QueryLength) … i1 − 1 + (KeyLength − QueryLength)</c>, clipped to the key sequence: the same
/// bottom-right alignment as the causal rule, so for self-attention it is block <c>r</c> itself and for a decode query it is
/// the last key block.</para>
/// <para>Every selected block, kept or chosen, is dropped when <see cref="Causal"/> is set and no (query, key) pair in it is
/// causally allowed, so a selection never asks a kernel for a block that would be fully masked.</para>
/// </remarks>
public abstract record BlockSelectionOptions
{
    /// <summary>Always keep key blocks <c>0 … KeepFirstBlocks − 1</c> (attention sinks). Default 1.</summary>
    public int KeepFirstBlocks { get; init; } = 1;

    /// <summary>Always keep the diagonal key block(s) of each query block (see remarks). Default true.</summary>
    public bool KeepDiagonal { get; init; } = true;

    /// <summary>
    /// Always keep the key blocks within this many blocks of the diagonal, on both sides (future ones then fall to
    /// <see cref="Causal"/>). 0 (the default) keeps none beyond <see cref="KeepDiagonal"/>.
    /// </summary>
    public int KeepLocalWindow { get; init; }

    /// <summary>
    /// Select only blocks that hold at least one causally allowed pair (<c>j ≤ i + KeyLength − QueryLength</c>), and return a
    /// causal layout (<see cref="BlockLayout.IsCausal"/>), so the attention over it applies the token causal mask.
    /// </summary>
    public bool Causal { get; init; }

    /// <summary>Memory layout of Q and K.</summary>
    public TensorFormat Format { get; init; } = TensorFormat.Bhsd;

    /// <summary>Multiplier of the pooled scores; <c>null</c> means 1/√HeadDim (the attention's default scale).</summary>
    public float? Scale { get; init; }

    /// <summary>Upper bound on worker threads (heads are shared out); 0 means <see cref="Environment.ProcessorCount"/>. Results do not depend on it.</summary>
    public int MaxThreads { get; init; }

    internal int ResolveThreads() => MaxThreads == 0 ? Environment.ProcessorCount : MaxThreads;

    internal void ValidateCommon(string paramName)
    {
        if (MaxThreads < 0)
            throw new ArgumentOutOfRangeException(paramName, MaxThreads, $"MaxThreads must be 0 (all cores) or positive, got {MaxThreads}.");
        if (KeepFirstBlocks < 0)
            throw new ArgumentOutOfRangeException(paramName, KeepFirstBlocks, $"KeepFirstBlocks must be ≥ 0, got {KeepFirstBlocks}.");
        if (KeepLocalWindow < 0)
            throw new ArgumentOutOfRangeException(paramName, KeepLocalWindow, $"KeepLocalWindow must be ≥ 0, got {KeepLocalWindow}.");
        if (!Enum.IsDefined(Format))
            throw new ArgumentOutOfRangeException(paramName, Format, $"Format {(int)Format} is not a TensorFormat.");
        if (Scale is { } s && !float.IsFinite(s))
            throw new ArgumentOutOfRangeException(paramName, s, $"Scale must be finite, got {s}.");
    }
}
