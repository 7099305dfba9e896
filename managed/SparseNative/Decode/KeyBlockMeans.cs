using System.Numerics.Tensors;
using SparseNative.Dispatch;

namespace SparseNative;

/// <summary>
/// The per-block means of a growing key cache, kept up to date as tokens are appended, so that
/// <see cref="BlockSelection.TopK(ReadOnlySpan{float}, KeyBlockMeans, AttentionShape, int, TopKOptions)"/> can choose a decode
/// step's blocks without re-reading the whole cache (at 128k keys, 8 K/V heads and d 128 that is 512 MiB per step, ten times
/// what the selected attention itself reads).
/// </summary>
/// <remarks>
/// The means are accumulated in the same order and arithmetic as the pooling inside <c>TopK</c> (the first row of a block,
/// then row by row, then one multiplication by 1/rows), so a selection from this cache equals, bit for bit, the selection
/// from the full keys. Memory: one float per <c>Batch · KeyValueHeads · HeadDim</c> per block. Not synchronised: do not
/// <see cref="Append"/> while another thread selects from the same instance.
/// </remarks>
public sealed class KeyBlockMeans
{
    private readonly float[][] _sums; // per (batch row, K/V head): [blocks, HeadDim] running sums of the rows
    private int _length;

    /// <summary>Batch rows.</summary>
    public int Batch { get; }

    /// <summary>K/V heads.</summary>
    public int KeyValueHeads { get; }

    /// <summary>Features per head.</summary>
    public int HeadDim { get; }

    /// <summary>Tokens per block (16, 32, 64 or 128).</summary>
    public int BlockSize { get; }

    /// <summary>Key tokens summarised so far (the cache length; use it as <see cref="AttentionShape.KeyLength"/>).</summary>
    public int Length => _length;

    /// <summary>An empty summary for a cache of this geometry.</summary>
    public KeyBlockMeans(int batch, int keyValueHeads, int headDim, int blockSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(keyValueHeads);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(headDim);
        BlockLayout.ValidateBlockSize(blockSize, nameof(blockSize));
        Batch = batch; KeyValueHeads = keyValueHeads; HeadDim = headDim; BlockSize = blockSize;
        _sums = new float[batch * keyValueHeads][];
        for (int i = 0; i < _sums.Length; i++) _sums[i] = new float[4 * headDim];
    }

    /// <summary>
    /// Adds <paramref name="tokens"/> new keys at the end of the cache. <paramref name="keys"/> is <c>[Batch, KeyValueHeads,
    /// tokens, HeadDim]</c> (or BSHD), the new tokens only — e.g. a whole prompt, then one token per decode step.
    /// </summary>
    /// <exception cref="ArgumentException">Wrong length, a non-finite key, or the cache would exceed int.MaxValue tokens.</exception>
    public void Append(ReadOnlySpan<float> keys, int tokens, TensorFormat format = TensorFormat.Bhsd)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(tokens);
        if (!Enum.IsDefined(format))
            throw new ArgumentOutOfRangeException(nameof(format), format, $"Format {(int)format} is not a TensorFormat.");
        long expected = (long)Batch * KeyValueHeads * tokens * HeadDim;
        if (keys.Length != expected)
            throw new ArgumentException($"keys has {keys.Length} elements; Batch·KeyValueHeads·tokens·HeadDim = {expected}.", nameof(keys));
        if ((long)_length + tokens > int.MaxValue)
            throw new ArgumentException($"The cache would hold {(long)_length + tokens} tokens, more than an int counts.", nameof(tokens));
        if (!float.IsFinite(TensorPrimitives.Sum(keys) * 0f))
            foreach (float x in keys)
                if (!float.IsFinite(x)) throw new ArgumentException($"keys holds {x}; the cache needs finite values.", nameof(keys));

        int d = HeadDim, newBlocks = BlockLayout.BlocksFor(_length + tokens, BlockSize);
        var rows = new TensorRows(format, KeyValueHeads, tokens, d);
        for (int b = 0; b < Batch; b++)
            for (int h = 0; h < KeyValueHeads; h++)
            {
                ref float[] sums = ref _sums[b * KeyValueHeads + h];
                if (sums.Length < newBlocks * d) Array.Resize(ref sums, Math.Max(newBlocks * d, 2 * sums.Length));
                for (int t = 0; t < tokens; t++)
                {
                    int position = _length + t;
                    var row = keys.Slice((int)rows.Row(b, h, t), d);
                    var acc = sums.AsSpan(position / BlockSize * d, d);
                    if (position % BlockSize == 0) row.CopyTo(acc);
                    else TensorPrimitives.Add(acc, row, acc);
                }
            }
        _length += tokens;
    }

    /// <summary>The block means of (batch row, K/V head) for the first <paramref name="blocks"/> blocks, into <paramref name="destination"/>.</summary>
    internal void CopyMeans(int batch, int head, int blocks, Span<float> destination)
    {
        var sums = _sums[batch * KeyValueHeads + head];
        for (int blk = 0; blk < blocks; blk++)
        {
            int rows = Math.Min(BlockSize, _length - blk * BlockSize);
            TensorPrimitives.Multiply(sums.AsSpan(blk * HeadDim, HeadDim), 1f / rows, destination.Slice(blk * HeadDim, HeadDim));
        }
        if (!float.IsFinite(TensorPrimitives.Sum(destination[..(blocks * HeadDim)]) * 0f))
            foreach (float m in destination[..(blocks * HeadDim)])
                if (!float.IsFinite(m))
                    throw new ArgumentException($"The key block means (batch {batch}, head {head}) overflow float32; scale the keys down.", "keys");
    }
}
