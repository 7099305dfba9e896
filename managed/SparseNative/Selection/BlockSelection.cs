using System.Numerics.Tensors;
using SparseNative.Selection;
using SparseNative.Decode;

namespace SparseNative;

/// <summary>
/// Block layouts chosen from the data: score (query block, key block) pairs cheaply from block-pooled Q and K, keep the
/// promising ones, and run exact attention on just those blocks with <see cref="SparseAttention.Forward"/>.
/// </summary>
/// <remarks>
/// The selections are approximations of dense attention (the error is measured in docs/DYNAMIC.md); the attention over the
/// selected blocks is exact. Layouts are per head, not per batch: with <c>Batch &gt; 1</c> each batch row's selection is made
/// on its own data and the layout holds their union, so every batch row gets at least what it asked for.
/// </remarks>
public static partial class BlockSelection
{
    /// <summary>
    /// Top-k block selection (as in MInference's block-sparse pattern and SpargeAttn's mass threshold). For each query head
    /// (or key/value group) and query block <c>r</c>, the pooled score of key block <c>c</c> is
    /// <c>scale · ⟨mean of Q rows of block r, mean of K rows of block c⟩</c>. Query block <c>r</c> keeps its keep-set
    /// (<see cref="BlockSelectionOptions"/>) plus either the <see cref="TopKOptions.K"/> best other candidates or, with
    /// <see cref="TopKOptions.MassThreshold"/> τ, the shortest run of candidates in descending score whose softmax share
    /// reaches τ. Candidates are the causally possible key blocks (all when not causal). Ties go to the lower key block index.
    /// </summary>
    /// <param name="query">Q, <c>[Batch, QueryHeads, QueryLength, HeadDim]</c> in <see cref="BlockSelectionOptions.Format"/>.</param>
    /// <param name="key">K, <c>[Batch, KeyValueHeads, KeyLength, HeadDim]</c>.</param>
    /// <param name="shape">The sizes of the attention the layout is for.</param>
    /// <param name="blockSize">16, 32, 64 or 128.</param>
    /// <param name="options">k or τ, keep-set, causality, grouping.</param>
    /// <returns>A layout with one list per query head (a single list when <see cref="TopKOptions.PerKeyValueGroup"/> and one K/V head).</returns>
    /// <exception cref="ArgumentException">A length, size or option is invalid, or Q/K hold NaN or ∞; the message names it.</exception>
    public static BlockLayout TopK(ReadOnlySpan<float> query, ReadOnlySpan<float> key, AttentionShape shape, int blockSize,
        TopKOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(nameof(options));
        ValidateInputs(query, key, shape, blockSize);
        unsafe
        {
            fixed (float* kPtr = key)
            {
                nint kp = (nint)kPtr;
                int kLength = key.Length;
                return TopKCore(query, shape, blockSize, options, (b, h, pooled) =>
                    BlockPooling.PoolHead(new ReadOnlySpan<float>((float*)kp, kLength), options.Format, b, h, shape.KeyValueHeads,
                        shape.KeyLength, shape.HeadDim, blockSize, pooled, nameof(key)));
            }
        }
    }

    /// <summary>
    /// <see cref="TopK(ReadOnlySpan{float}, ReadOnlySpan{float}, AttentionShape, int, TopKOptions)"/> with the keys given by their
    /// block means, kept up to date by a <see cref="KeyBlockMeans"/> as a decoder appends tokens: the same layout, bit for bit,
    /// without reading the key cache.
    /// </summary>
    /// <param name="query">Q, <c>[Batch, QueryHeads, QueryLength, HeadDim]</c> in <see cref="BlockSelectionOptions.Format"/>.</param>
    /// <param name="keyMeans">The block means of the keys; its sizes must match <paramref name="shape"/> and <paramref name="blockSize"/>,
    /// and its <see cref="KeyBlockMeans.Length"/> must be <see cref="AttentionShape.KeyLength"/>.</param>
    /// <param name="shape">The sizes of the attention the layout is for.</param>
    /// <param name="blockSize">16, 32, 64 or 128, the summary's block size.</param>
    /// <param name="options">k or τ, keep-set, causality, grouping.</param>
    /// <exception cref="ArgumentException">A size does not match, an option is invalid, or Q holds NaN or ∞; the message names it.</exception>
    public static BlockLayout TopK(ReadOnlySpan<float> query, KeyBlockMeans keyMeans, AttentionShape shape, int blockSize,
        TopKOptions options)
    {
        ArgumentNullException.ThrowIfNull(keyMeans);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(nameof(options));
        shape.Validate(nameof(shape));
        BlockLayout.ValidateBlockSize(blockSize, nameof(blockSize));
        if (keyMeans.BlockSize != blockSize || keyMeans.Batch != shape.Batch || keyMeans.KeyValueHeads != shape.KeyValueHeads ||
            keyMeans.HeadDim != shape.HeadDim || keyMeans.Length != shape.KeyLength)
            throw new ArgumentException(
                $"keyMeans summarises {keyMeans.Length} keys of batch {keyMeans.Batch}, {keyMeans.KeyValueHeads} K/V heads, d {keyMeans.HeadDim}, " +
                $"block {keyMeans.BlockSize}; the call needs {shape.KeyLength} keys of batch {shape.Batch}, {shape.KeyValueHeads} K/V heads, " +
                $"d {shape.HeadDim}, block {blockSize}.", nameof(keyMeans));
        SparseAttention.QueryShaped(query.Length, shape, nameof(query));
        int kb = shape.KeyBlocks(blockSize);
        return TopKCore(query, shape, blockSize, options, (b, h, pooled) => keyMeans.CopyMeans(b, h, kb, pooled));
    }

    /// <summary>TopK from the pooled keys that <paramref name="poolKeys"/> writes for (batch row, K/V head).</summary>
    private static BlockLayout TopKCore(ReadOnlySpan<float> query, AttentionShape shape, int blockSize, TopKOptions options,
        Action<int, int, float[]> poolKeys)
    {
        var geo = new BlockGeometry(shape, blockSize);
        int d = shape.HeadDim, group = shape.GroupSize;
        int units = options.PerKeyValueGroup ? shape.KeyValueHeads : shape.QueryHeads;
        float scale = options.Scale ?? 1f / MathF.Sqrt(d);

        var selected = new int[units][][];
        // Pool K once per (batch row, K/V head), shared by the query heads of the group: with GQA 4:1 that is a quarter of
        // the reads of pooling per query head, and K (the long KV cache when decoding) dominates the cost.
        int kvUnits = shape.Batch * shape.KeyValueHeads;
        var pooledKeys = new float[kvUnits][];
        int threads = options.ResolveThreads();
        ParallelWork.For(kvUnits, threads, i =>
        {
            pooledKeys[i] = new float[geo.KeyBlocks * d];
            poolKeys(i / shape.KeyValueHeads, i % shape.KeyValueHeads, pooledKeys[i]);
        });
        unsafe
        {
            fixed (float* qPtr = query)
            {
                nint qp = (nint)qPtr;
                int qLength = query.Length;
                ParallelWork.For(units, threads, u =>
                    selected[u] = SelectUnit(new ReadOnlySpan<float>((float*)qp, qLength), pooledKeys, shape, geo, options, scale, u));
            }
        }
        int lists = options.PerKeyValueGroup && shape.KeyValueHeads == 1 ? 1 : shape.QueryHeads;
        return BlockLayout.Build(blockSize, geo.QueryBlocks, geo.KeyBlocks, lists, (l, r, list) =>
            list.AddRange(selected[options.PerKeyValueGroup ? l / group : l][r])).WithCausal(options.Causal);
    }

    /// <summary>
    /// The selection of one query head (or K/V group) for every query block, unioned over batch rows.
    /// <paramref name="pooledKeys"/>[b · KeyValueHeads + kvHead] holds the key block means.
    /// </summary>
    private static int[][] SelectUnit(ReadOnlySpan<float> query, float[][] pooledKeys, AttentionShape shape, BlockGeometry geo,
        TopKOptions options, float scale, int unit)
    {
        int d = shape.HeadDim, group = shape.GroupSize, blockSize = geo.BlockSize;
        var result = new int[geo.QueryBlocks][];
        var pooledQ = new float[geo.QueryBlocks * d];
        var headQ = options.PerKeyValueGroup ? new float[geo.QueryBlocks * d] : [];
        var row = new RowSelector(geo.KeyBlocks);
        int kvHead = options.PerKeyValueGroup ? unit : unit / group;
        for (int b = 0; b < shape.Batch; b++)
        {
            var pooledK = pooledKeys[b * shape.KeyValueHeads + kvHead];
            if (!options.PerKeyValueGroup)
                BlockPooling.PoolHead(query, options.Format, b, unit, shape.QueryHeads, shape.QueryLength, d, blockSize, pooledQ, nameof(query));
            else
            {
                // The mean of the group's pooled vectors: its scores are the mean of the heads' pooled scores.
                pooledQ.AsSpan().Clear();
                for (int h = unit * group; h < (unit + 1) * group; h++)
                {
                    BlockPooling.PoolHead(query, options.Format, b, h, shape.QueryHeads, shape.QueryLength, d, blockSize, headQ, nameof(query));
                    TensorPrimitives.Add(pooledQ, headQ, pooledQ);
                }
                TensorPrimitives.Multiply(pooledQ, 1f / group, pooledQ);
            }
            for (int r = 0; r < geo.QueryBlocks; r++)
            {
                int n = geo.CandidateCount(r, options.Causal);
                var scores = row.Scores(n);
                var q = pooledQ.AsSpan(r * d, d);
                for (int c = 0; c < n; c++) scores[c] = TensorPrimitives.Dot(q, pooledK.AsSpan(c * d, d)) * scale;
                var picked = row.SelectTopK(r, n, geo, options);
                result[r] = b == 0 ? picked : UnionSorted(result[r], picked);
            }
        }
        return result;
    }

    internal static void ValidateInputs(ReadOnlySpan<float> query, ReadOnlySpan<float> key, AttentionShape shape, int blockSize)
    {
        shape.Validate(nameof(shape));
        BlockLayout.ValidateBlockSize(blockSize, nameof(blockSize));
        SparseAttention.QueryShaped(query.Length, shape, nameof(query));
        SparseAttention.KeyShaped(key.Length, shape, nameof(key));
        // NaN/∞ (which would make the ordering of scores meaningless) are found while pooling: see BlockPooling.PoolHead.
    }

    internal static int[] UnionSorted(int[] a, int[] b)
    {
        var result = new List<int>(a.Length + b.Length);
        int i = 0, j = 0;
        while (i < a.Length || j < b.Length)
        {
            if (j == b.Length || (i < a.Length && a[i] < b[j])) result.Add(a[i++]);
            else if (i == a.Length || b[j] < a[i]) result.Add(b[j++]);
            else { result.Add(a[i++]); j++; }
        }
        return result.ToArray();
    }
}
