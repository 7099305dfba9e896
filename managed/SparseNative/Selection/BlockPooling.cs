using System.Numerics.Tensors;

namespace SparseNative;

/// <summary>Block means of token rows (the pooled vectors every selection scores), vectorised with TensorPrimitives.</summary>
internal static class BlockPooling
{
    /// <summary>
    /// Writes the mean of each block's rows of head <paramref name="head"/> (of <paramref name="heads"/>) in batch
    /// <paramref name="batch"/> to <paramref name="pooled"/>, <c>[blocks, d]</c>. A tail block averages only its real rows.
    /// </summary>
    public static void PoolHead(ReadOnlySpan<float> x, TensorFormat format, int batch, int head, int heads, int length,
        int headDim, int blockSize, Span<float> pooled)
    {
        long start = format == TensorFormat.Bhsd
            ? ((long)batch * heads + head) * length * headDim
            : ((long)batch * length * heads + head) * headDim;
        int stride = format == TensorFormat.Bhsd ? headDim : heads * headDim;
        int blocks = (length + blockSize - 1) / blockSize;
        for (int blk = 0; blk < blocks; blk++)
        {
            var acc = pooled.Slice(blk * headDim, headDim);
            int t0 = blk * blockSize, t1 = Math.Min(t0 + blockSize, length);
            x.Slice((int)(start + (long)t0 * stride), headDim).CopyTo(acc);
            for (int t = t0 + 1; t < t1; t++)
                TensorPrimitives.Add(acc, x.Slice((int)(start + (long)t * stride), headDim), acc);
            TensorPrimitives.Multiply(acc, 1f / (t1 - t0), acc);
        }
    }

    /// <summary>Rescales each <paramref name="dim"/>-long row to unit L2 norm; an all-zero row stays zero.</summary>
    public static void NormalizeRows(Span<float> rows, int dim)
    {
        for (int o = 0; o < rows.Length; o += dim)
        {
            var row = rows.Slice(o, dim);
            float norm = TensorPrimitives.Norm(row);
            if (norm > 0 && float.IsFinite(norm)) TensorPrimitives.Multiply(row, 1f / norm, row);
        }
    }
}
