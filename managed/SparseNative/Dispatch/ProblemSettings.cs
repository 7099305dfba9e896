namespace SparseNative.Dispatch;

/// <summary>
/// Everything about a validated attention call except its tensors: the sizes, the layout, the resolved scale, the effective
/// causal flag, the segment ids and the thread count. Made only by <see cref="SparseAttention.ValidateSettings"/>, the one
/// validation every entry point (host spans, device buffers, backend selection, split keys) runs, so whoever holds one may
/// trust it. A value type, so a call that is split into parts (flash-decoding) passes it to its workers without a copy of the checks.
/// </summary>
internal readonly struct ProblemSettings
{
    public readonly AttentionGeometry Geometry;
    public readonly BlockLayout Layout;
    public readonly float Scale;

    /// <summary>True when the causal mask applies only because the layout is causal (<see cref="AttentionOptions.Causal"/> was false).</summary>
    public readonly bool CausalFromLayout;

    /// <summary><c>[B, Lq]</c> and <c>[B, Lk]</c>, or both empty.</summary>
    public readonly ReadOnlyMemory<int> QuerySegmentIds, KeySegmentIds;

    /// <summary>Worker threads to use (≥ 1).</summary>
    public readonly int Threads;

    /// <summary>K and V as a cache holds them (validated), or null for plain tensors.</summary>
    public readonly KeyValueCache? Cache;

    /// <summary>K and V are a strided view read through pointers (a tensor span): their rows come from its strides.</summary>
    public readonly bool StridedKeys;

    public ProblemSettings(AttentionShape shape, BlockLayout layout, float scale, bool optionsCausal, TensorFormat format,
        ReadOnlyMemory<int> querySegmentIds, ReadOnlyMemory<int> keySegmentIds, int threads, KeyValueCache? cache = null,
        TensorRows? keyRows = null)
    {
        // The layout's own causality (BlockLayout.IsCausal) is part of the call's meaning: one flag, decided here, for every backend.
        Geometry = new AttentionGeometry(shape, format, layout.BlockSize, optionsCausal || layout.IsCausal, cache, keyRows);
        Cache = cache;
        StridedKeys = keyRows is not null;
        Layout = layout;
        Scale = scale;
        CausalFromLayout = layout.IsCausal && !optionsCausal;
        QuerySegmentIds = querySegmentIds;
        KeySegmentIds = keySegmentIds;
        Threads = threads;
    }

    private ProblemSettings(in ProblemSettings s, BlockLayout layout, int threads)
    {
        this = s;
        Layout = layout;
        Threads = threads;
    }

    public AttentionShape Shape => Geometry.Shape;
    public TensorFormat Format => Geometry.Format;

    /// <summary>Whether the token causal mask applies: <see cref="AttentionOptions.Causal"/> or <see cref="BlockLayout.IsCausal"/>.</summary>
    public bool Causal => Geometry.Causal;

    public bool HasSegments => !QuerySegmentIds.IsEmpty;

    /// <summary>Elements the K (and the V) tensor must have: the shape's, a preallocated cache's capacity, or the pages'.</summary>
    public long KeyElements => Cache is null ? Shape.KeyElements
        : (Cache.IsPaged ? Cache.Pages : (long)Shape.Batch) * Geometry.Keys.BatchStride;

    /// <summary>
    /// The same call over a sub-layout of the same block grid (one chunk of a split over keys) with its own thread count.
    /// Causality stays the call's: it does not depend on the sub-layout's flag.
    /// </summary>
    public ProblemSettings ForPart(BlockLayout part, int threads)
    {
        System.Diagnostics.Debug.Assert(part.BlockSize == Layout.BlockSize && part.QueryBlocks == Layout.QueryBlocks &&
            part.KeyBlocks == Layout.KeyBlocks && part.LayoutCount == Layout.LayoutCount, "a part keeps the call's block grid");
        return new ProblemSettings(this, part, threads);
    }

    /// <summary>The line <see cref="SparseAttention.Log"/> receives for this call.</summary>
    public string Describe(Backend ran, Backend requested) =>
        $"{Shape} block {Layout.BlockSize} density {Layout.Density:P1}" +
        (Causal ? CausalFromLayout ? ", causal (from the layout)" : ", causal" : "") +
        $": {ran} (requested {requested})";
}
