namespace SparseNative;

/// <summary>Options of one attention call. The defaults are what most callers want.</summary>
public sealed record AttentionOptions
{
    /// <summary>The default options: scale 1/√d, not causal, <see cref="Backend.Auto"/>, all cores, <see cref="TensorFormat.Bhsd"/>.</summary>
    public static AttentionOptions Default { get; } = new();

    /// <summary>Multiplier of QKᵀ; <c>null</c> means 1/√HeadDim. Must be finite.</summary>
    public float? Scale { get; init; }

    /// <summary>
    /// Token-level causal mask on top of the block layout: query <c>i</c> sees key <c>j</c> only when
    /// <c>j ≤ i + (KeyLength − QueryLength)</c> (bottom-right aligned, so a decoding query sees the whole cache).
    /// The mask also applies, with this left false, when the layout is causal (<see cref="BlockLayout.IsCausal"/>).
    /// </summary>
    public bool Causal { get; init; }

    /// <summary>Which implementation runs; <see cref="Backend.Auto"/> lets the dispatcher choose. Asking for an unavailable backend throws.</summary>
    public Backend Backend { get; init; } = Backend.Auto;

    /// <summary>Upper bound on worker threads; 0 means <see cref="Environment.ProcessorCount"/>. Results do not depend on it.</summary>
    public int MaxThreads { get; init; }

    /// <summary>Memory layout of Q, K, V and the output.</summary>
    public TensorFormat Format { get; init; } = TensorFormat.Bhsd;

    /// <summary>
    /// Optional per-token segment ids of the queries, <c>[Batch, QueryLength]</c>. With <see cref="KeySegmentIds"/>, a query attends
    /// to a key only when their ids are equal (packed sequences, document masks, shifted windows). Both or neither must be set.
    /// </summary>
    public ReadOnlyMemory<int> QuerySegmentIds { get; init; }

    /// <summary>Optional per-token segment ids of the keys, <c>[Batch, KeyLength]</c>; see <see cref="QuerySegmentIds"/>.</summary>
    public ReadOnlyMemory<int> KeySegmentIds { get; init; }

    /// <summary>
    /// K and V as a serving cache holds them — preallocated with a capacity, or paged through a block table, with optional
    /// per-sequence lengths — read where they lie; <c>null</c>: K and V are <c>[Batch, KeyValueHeads, KeyLength, HeadDim]</c>.
    /// The managed backends read every form; the native and CUDA backends take the plain tensors only (Auto skips them).
    /// </summary>
    public KeyValueCache? KeyValueCache { get; init; }

    /// <summary>
    /// Check Q, K and V for NaN and ∞ before computing, and that their magnitudes cannot overflow float32 inside the kernel
    /// (HeadDim·max|q|·max|k|·max(1, |scale|·log₂e) and KeyLength·max|v| at most float.MaxValue / 2; docs/SEMANTICS.md):
    /// one vectorised pass, small next to the attention itself. Turn off only when the inputs are known to be finite and
    /// of ordinary size; past these limits the results are then unspecified (never a crash).
    /// </summary>
    public bool CheckFinite { get; init; } = true;

    /// <summary>The scale to use for a head dimension.</summary>
    public float ResolveScale(int headDim) => Scale ?? 1.0f / MathF.Sqrt(headDim);
}
