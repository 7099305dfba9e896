namespace SparseNative;

/// <summary>Options of <see cref="BlockSelection.TopK(ReadOnlySpan{float}, ReadOnlySpan{float}, AttentionShape, int, TopKOptions)"/>.</summary>
public sealed record TopKOptions : BlockSelectionOptions
{
    /// <summary>
    /// Key blocks chosen per query block <em>in addition to</em> the keep-set: the <c>K</c> highest pooled scores among the
    /// candidates not already kept. Ignored when <see cref="MassThreshold"/> is set. Default 8.
    /// </summary>
    public int K { get; init; } = 8;

    /// <summary>
    /// τ in (0, 1]: instead of a fixed count, choose the smallest set of candidate blocks, taken in descending pooled score,
    /// whose share of the softmax over the pooled scores of all causally possible blocks reaches τ (the keep-set is added
    /// afterwards). The mass is that of the pooled scores, which are far more peaked than the token-level attention they
    /// summarise, so τ = 0.9 keeps fewer blocks than 90% of the true attention mass would need. <c>null</c> (the default)
    /// selects by <see cref="K"/>.
    /// </summary>
    public double? MassThreshold { get; init; }

    /// <summary>With <see cref="MassThreshold"/>: at most this many blocks chosen by mass per query block (the keep-set not
    /// counted); 0 (the default) means no cap.</summary>
    public int MassMaxBlocks { get; init; }

    /// <summary>
    /// One selection per key/value group instead of per query head: the group's pooled query vectors are averaged (the mean
    /// of their pooled scores), so the heads reading one K/V head share their blocks (as NSA does). The layout still has one
    /// list per query head (query head <c>h</c> uses list <c>h % LayoutCount</c>, which is not its group), holding the group's
    /// selection, or a single list when there is one K/V head.
    /// </summary>
    public bool PerKeyValueGroup { get; init; }

    internal void Validate(string paramName)
    {
        ValidateCommon(paramName);
        if (K < 0) throw new ArgumentOutOfRangeException(paramName, K, $"K must be ≥ 0, got {K}.");
        if (MassMaxBlocks < 0)
            throw new ArgumentOutOfRangeException(paramName, MassMaxBlocks, $"MassMaxBlocks must be ≥ 0, got {MassMaxBlocks}.");
        if (MassThreshold is { } t && !(t > 0 && t <= 1))
            throw new ArgumentOutOfRangeException(paramName, t, $"MassThreshold must be in (0, 1], got {t}.");
    }
}
