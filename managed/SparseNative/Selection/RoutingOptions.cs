namespace SparseNative;

/// <summary>Options of <see cref="BlockSelection.Routing"/>.</summary>
public sealed record RoutingOptions : BlockSelectionOptions
{
    /// <summary>Number of k-means clusters per head (≥ 1; more than the pooled points are clamped to their count). Default 4.</summary>
    public int Clusters { get; init; } = 4;

    /// <summary>Each query block attends to the key blocks of its <c>TopClusters</c> nearest centroids (1 … Clusters). Default 1.</summary>
    public int TopClusters { get; init; } = 1;

    /// <summary>
    /// Lloyd iterations after initialisation, 0 … <see cref="MaxIterations"/>. Default 10. The result is that of exactly this
    /// many steps; the steps after the assignment stops changing are skipped, since each would recompute the same centroids.
    /// </summary>
    public int Iterations { get; init; } = 10;

    /// <summary>The largest <see cref="Iterations"/> accepted (k-means settles within tens of steps; the cap bounds a call's time).</summary>
    public const int MaxIterations = 1000;

    /// <summary>Seed of the <see cref="SplitMix64"/> generator that picks the first centroid of each head.</summary>
    public ulong Seed { get; init; } = 0x5EED;

    internal void Validate(string paramName)
    {
        ValidateCommon(paramName);
        if (Clusters < 1) throw new ArgumentOutOfRangeException(paramName, Clusters, $"Clusters must be ≥ 1, got {Clusters}.");
        if (TopClusters < 1 || TopClusters > Clusters)
            throw new ArgumentOutOfRangeException(paramName, TopClusters, $"TopClusters must be in [1, Clusters = {Clusters}], got {TopClusters}.");
        if (Iterations < 0 || Iterations > MaxIterations)
            throw new ArgumentOutOfRangeException(paramName, Iterations, $"Iterations must be in [0, {MaxIterations}], got {Iterations}.");
    }
}
