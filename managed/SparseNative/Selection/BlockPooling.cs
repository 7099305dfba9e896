using System.Numerics.Tensors;
using SparseNative.Dispatch;

namespace SparseNative.Selection;

/// <summary>Block means of token rows (the pooled vectors every selection scores), vectorised with TensorPrimitives.</summary>
internal static class BlockPooling
{
    /// <summary>
    /// Writes the mean of each block's rows of head <paramref name="head"/> (of <paramref name="heads"/>) in batch
    /// <paramref name="batch"/> to <paramref name="pooled"/>, <c>[blocks, d]</c>. A tail block averages only its real rows.
    /// Also the finiteness check of the input: a NaN or ∞ anywhere makes its block mean non-finite, so the inputs are read once,
    /// not once to check and once to pool.
    /// </summary>
    /// <exception cref="ArgumentException">The head holds NaN or ∞ (named <paramref name="name"/>), or its block means overflow.</exception>
    public static void PoolHead(ReadOnlySpan<float> x, TensorFormat format, int batch, int head, int heads, int length,
        int headDim, int blockSize, Span<float> pooled, string name)
    {
        var rows = new TensorRows(format, heads, length, headDim);
        long start = rows.HeadBase(batch, head), stride = rows.RowStride;
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
        var all = pooled[..(blocks * headDim)];
        if (float.IsFinite(TensorPrimitives.Sum(all) * 0f)) return;
        // Something is not finite (or the check's own sum overflowed): find out which, element by element.
        for (int t = 0; t < length; t++)
        {
            var row = x.Slice((int)(start + (long)t * stride), headDim);
            for (int c = 0; c < headDim; c++)
                if (!float.IsFinite(row[c]))
                    throw new ArgumentException(
                        $"{name} is {row[c]} at batch {batch}, head {head}, token {t}, feature {c}; block selection needs finite values.", name);
        }
        foreach (float m in all)
            if (!float.IsFinite(m))
                throw new ArgumentException(
                    $"The block means of {name} (batch {batch}, head {head}) overflow float32; scale the inputs down.", name);
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
