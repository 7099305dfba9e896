using System.Numerics.Tensors;
using SparseNative.Selection;
using SparseNative.Decode;

namespace SparseNative;

public static partial class BlockSelection
{
    /// <summary>
    /// Routing attention (after the Routing Transformer) at block granularity. Per query head and batch row, the block means
    /// of Q (that head) and of K (its key/value head) are L2-normalised and clustered together by spherical k-means:
    /// <list type="number">
    /// <item>Initialisation: the first centroid is the point drawn by <see cref="SplitMix64"/> (one generator seeded with
    /// <see cref="RoutingOptions.Seed"/>, drawn once per head and batch row in that order, before any work is shared out); each further centroid is the point
    /// least similar to its nearest existing centroid (farthest-point seeding, lower point index on ties; points are the query
    /// blocks, then the key blocks).</item>
    /// <item><see cref="RoutingOptions.Iterations"/> Lloyd steps: assign every point to the centroid of highest cosine (lower
    /// cluster index on ties), then set each centroid to the normalised sum of its points (an empty cluster keeps its centroid).</item>
    /// </list>
    /// A key block belongs to its nearest centroid; a query block attends to the key blocks of its
    /// <see cref="RoutingOptions.TopClusters"/> nearest centroids, plus the keep-set, within the causally possible blocks.
    /// </summary>
    /// <param name="query">Q, <c>[Batch, QueryHeads, QueryLength, HeadDim]</c> in <see cref="BlockSelectionOptions.Format"/>.</param>
    /// <param name="key">K, <c>[Batch, KeyValueHeads, KeyLength, HeadDim]</c>.</param>
    /// <param name="shape">The sizes of the attention the layout is for.</param>
    /// <param name="blockSize">16, 32, 64 or 128.</param>
    /// <param name="options">Clusters, iterations, seed, keep-set, causality.</param>
    /// <returns>A layout with one list per query head; the same inputs and seed always give the same layout.</returns>
    /// <exception cref="ArgumentException">A length, size or option is invalid, or Q/K hold NaN or ∞; the message names it.</exception>
    public static BlockLayout Routing(ReadOnlySpan<float> query, ReadOnlySpan<float> key, AttentionShape shape, int blockSize,
        RoutingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(nameof(options));
        ValidateInputs(query, key, shape, blockSize);
        var geo = new BlockGeometry(shape, blockSize);
        int qb = geo.QueryBlocks, kb = geo.KeyBlocks;
        // Draw every head's first centroid up front, in (head, batch) order, so threads cannot change the sequence.
        var rng = new SplitMix64(options.Seed);
        var firsts = new int[shape.QueryHeads * shape.Batch];
        for (int i = 0; i < firsts.Length; i++) firsts[i] = rng.NextInt(qb + kb);
        var selected = new int[shape.QueryHeads][][];
        unsafe
        {
            fixed (float* qPtr = query, kPtr = key)
            {
                nint qp = (nint)qPtr, kp = (nint)kPtr;
                int qLength = query.Length, kLength = key.Length;
                ParallelWork.For(shape.QueryHeads, options.ResolveThreads(), h =>
                    selected[h] = RouteHead(new ReadOnlySpan<float>((float*)qp, qLength), new ReadOnlySpan<float>((float*)kp, kLength),
                        shape, geo, options, h, firsts));
            }
        }
        return BlockLayout.Build(blockSize, qb, kb, shape.QueryHeads, (l, r, list) => list.AddRange(selected[l][r])).WithCausal(options.Causal);
    }

    /// <summary>Clusters one query head's pooled blocks (per batch row) and returns its selection, unioned over batch rows.</summary>
    private static int[][] RouteHead(ReadOnlySpan<float> query, ReadOnlySpan<float> key, AttentionShape shape, BlockGeometry geo,
        RoutingOptions options, int h, int[] firsts)
    {
        int d = shape.HeadDim, qb = geo.QueryBlocks, kb = geo.KeyBlocks, blockSize = geo.BlockSize;
        var points = new float[(qb + kb) * d];
        var keep = new bool[kb];
        var keyCluster = new int[kb];
        var result = new int[qb][];
        for (int b = 0; b < shape.Batch; b++)
        {
            BlockPooling.PoolHead(query, options.Format, b, h, shape.QueryHeads, shape.QueryLength, d, blockSize, points.AsSpan(0, qb * d), nameof(query));
            BlockPooling.PoolHead(key, options.Format, b, h / shape.GroupSize, shape.KeyValueHeads, shape.KeyLength, d, blockSize,
                points.AsSpan(qb * d), nameof(key));
            BlockPooling.NormalizeRows(points, d);
            var kmeans = new SphericalKMeans(points, d, Math.Min(options.Clusters, qb + kb));
            kmeans.Initialise(firsts[h * shape.Batch + b]);
            for (int it = 0; it < options.Iterations; it++) kmeans.Step();

            for (int c = 0; c < kb; c++) keyCluster[c] = kmeans.Nearest(qb + c);
            var inMine = new bool[options.Clusters];
            for (int r = 0; r < qb; r++)
            {
                int n = geo.CandidateCount(r, options.Causal);
                var mask = keep.AsSpan(0, n);
                mask.Clear();
                geo.MarkKeepSet(r, options, n, mask);
                Array.Clear(inMine);
                foreach (int cl in kmeans.NearestClusters(r, options.TopClusters)) inMine[cl] = true;
                int count = 0;
                for (int c = 0; c < n; c++) if (mask[c] |= inMine[keyCluster[c]]) count++;
                var picked = new int[count];
                for (int c = 0, w = 0; c < n; c++) if (mask[c]) picked[w++] = c;
                result[r] = b == 0 ? picked : UnionSorted(result[r], picked);
            }
        }
        return result;
    }

    /// <summary>Spherical k-means over unit rows: cosine similarity is a dot product.</summary>
    private sealed class SphericalKMeans(float[] points, int dim, int clusters)
    {
        private readonly float[] _centroids = new float[clusters * dim];
        private readonly int _count = points.Length / dim;

        private ReadOnlySpan<float> Point(int p) => points.AsSpan(p * dim, dim);
        private Span<float> Centroid(int c) => _centroids.AsSpan(c * dim, dim);

        /// <summary>Farthest-point seeding from point <paramref name="first"/>.</summary>
        public void Initialise(int first)
        {
            Point(first).CopyTo(Centroid(0));
            var closest = new float[_count]; // similarity of each point to its nearest chosen centroid
            for (int p = 0; p < _count; p++) closest[p] = TensorPrimitives.Dot(Point(p), Centroid(0));
            for (int c = 1; c < clusters; c++)
            {
                int far = TensorPrimitives.IndexOfMin(closest); // first index of the minimum: lower index on ties
                Point(far).CopyTo(Centroid(c));
                for (int p = 0; p < _count; p++)
                    closest[p] = MathF.Max(closest[p], TensorPrimitives.Dot(Point(p), Centroid(c)));
            }
        }

        public void Step()
        {
            var sums = new float[_centroids.Length];
            var sizes = new int[clusters];
            for (int p = 0; p < _count; p++)
            {
                int c = Nearest(p);
                sizes[c]++;
                TensorPrimitives.Add(sums.AsSpan(c * dim, dim), Point(p), sums.AsSpan(c * dim, dim));
            }
            for (int c = 0; c < clusters; c++)
            {
                if (sizes[c] == 0) continue;
                var s = sums.AsSpan(c * dim, dim);
                float norm = TensorPrimitives.Norm(s);
                if (norm > 0) { TensorPrimitives.Multiply(s, 1f / norm, s); s.CopyTo(Centroid(c)); }
            }
        }

        /// <summary>The centroid of highest cosine with point <paramref name="p"/>; the lower index on ties.</summary>
        public int Nearest(int p)
        {
            int best = 0;
            float bestSim = float.NegativeInfinity;
            for (int c = 0; c < clusters; c++)
            {
                float sim = TensorPrimitives.Dot(Point(p), Centroid(c));
                if (sim > bestSim) { bestSim = sim; best = c; }
            }
            return best;
        }

        /// <summary>The <paramref name="top"/> centroids nearest to point <paramref name="p"/> (clamped to the cluster count).</summary>
        public int[] NearestClusters(int p, int top)
        {
            top = Math.Min(top, clusters);
            var order = new int[clusters];
            var sims = new float[clusters];
            for (int c = 0; c < clusters; c++) { order[c] = c; sims[c] = TensorPrimitives.Dot(Point(p), Centroid(c)); }
            // Highest similarity first, lower index on ties.
            Array.Sort(order, (a, b) => sims[a] != sims[b] ? sims[b].CompareTo(sims[a]) : a.CompareTo(b));
            return order[..top];
        }
    }
}
