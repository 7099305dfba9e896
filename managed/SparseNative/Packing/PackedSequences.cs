namespace SparseNative;

/// <summary>
/// Variable-length sequences packed into one batch row, described FlashAttention-style by cumulative lengths
/// (<c>cu_seqlens</c>), turned into what <see cref="SparseAttention.Forward"/> takes: segment ids and a block layout.
/// </summary>
/// <remarks>
/// Use it as: <c>shape = new AttentionShape(1, Hq, Hkv, packed.QueryLength, packed.KeyLength, d)</c>,
/// <c>options = new AttentionOptions { QuerySegmentIds = packed.QuerySegmentIds, KeySegmentIds = packed.KeySegmentIds }</c>,
/// layout <see cref="Layout"/> (causal when built with <c>causal: true</c>, so the attention masks causally by itself). Sequence <c>s</c> occupies query tokens <c>cuSeqlensQ[s] … cuSeqlensQ[s+1]−1</c> and key tokens
/// <c>cuSeqlensK[s] … cuSeqlensK[s+1]−1</c>; its segment id is <c>s</c>.
/// </remarks>
public sealed class PackedSequences
{
    /// <summary>Number of sequences (B in <c>cu_seqlens</c> of length B + 1); empty sequences count.</summary>
    public int SequenceCount { get; }

    /// <summary>Total query tokens, <c>cuSeqlensQ[B]</c>.</summary>
    public int QueryLength { get; }

    /// <summary>Total key tokens, <c>cuSeqlensK[B]</c>.</summary>
    public int KeyLength { get; }

    /// <summary>The sequence index of each query token, <c>[QueryLength]</c>.</summary>
    public ReadOnlyMemory<int> QuerySegmentIds { get; }

    /// <summary>The sequence index of each key token, <c>[KeyLength]</c>.</summary>
    public ReadOnlyMemory<int> KeySegmentIds { get; }

    /// <summary>The one-list layout those ids imply (see <see cref="SegmentLayout.FromSegmentIds"/>).</summary>
    public BlockLayout Layout { get; }

    private PackedSequences(int count, int[] q, int[] k, BlockLayout layout)
    {
        SequenceCount = count;
        QuerySegmentIds = q;
        KeySegmentIds = k;
        QueryLength = q.Length;
        KeyLength = k.Length;
        Layout = layout;
    }

    /// <summary>
    /// Segment ids and layout from cumulative lengths: each array starts at 0, never decreases, and both have B + 1 entries.
    /// </summary>
    /// <param name="cuSeqlensQ">Cumulative query lengths, <c>int[B + 1]</c>.</param>
    /// <param name="cuSeqlensK">Cumulative key lengths, <c>int[B + 1]</c> (pass the same array for self-attention).</param>
    /// <param name="blockSize">Block size of the layout: 16, 32, 64 or 128.</param>
    /// <param name="causal">
    /// Causal attention inside each sequence. The library's causal rule is bottom-right over the whole packed row, which is
    /// the per-sequence rule only when every sequence has as many keys as queries; so causal requires
    /// <c>cuSeqlensQ == cuSeqlensK</c>. The layout is then causal (<see cref="BlockLayout.IsCausal"/>), so the attention
    /// applies the token causal mask without <see cref="AttentionOptions.Causal"/>.
    /// </param>
    /// <exception cref="ArgumentException">The arrays are not valid cumulative lengths (the message names the entry), hold no
    /// tokens, or differ under <paramref name="causal"/>.</exception>
    public static PackedSequences FromCumulativeLengths(ReadOnlySpan<int> cuSeqlensQ, ReadOnlySpan<int> cuSeqlensK, int blockSize,
        bool causal = false)
    {
        BlockLayout.ValidateBlockSize(blockSize, nameof(blockSize));
        Check(cuSeqlensQ, nameof(cuSeqlensQ));
        Check(cuSeqlensK, nameof(cuSeqlensK));
        if (cuSeqlensQ.Length != cuSeqlensK.Length)
            throw new ArgumentException(
                $"cuSeqlensK has {cuSeqlensK.Length} entries but cuSeqlensQ has {cuSeqlensQ.Length}; both are B + 1 long.", nameof(cuSeqlensK));
        if (causal && !cuSeqlensQ.SequenceEqual(cuSeqlensK))
        {
            int s = 0;
            while (cuSeqlensQ[s] == cuSeqlensK[s]) s++;
            throw new ArgumentException(
                $"Causal packed attention needs equal query and key lengths per sequence; cuSeqlensK[{s}] = {cuSeqlensK[s]} but cuSeqlensQ[{s}] = {cuSeqlensQ[s]}.",
                nameof(cuSeqlensK));
        }
        int count = cuSeqlensQ.Length - 1;
        var q = Ids(cuSeqlensQ);
        var k = Ids(cuSeqlensK);
        var layout = SegmentLayout.FromSegmentIds(q, k, 1, q.Length, k.Length, blockSize, causal);
        return new PackedSequences(count, q, k, layout);
    }

    private static void Check(ReadOnlySpan<int> cu, string name)
    {
        if (cu.Length < 2)
            throw new ArgumentException($"{name} has {cu.Length} entries; cumulative lengths of B ≥ 1 sequences have B + 1.", name);
        if (cu[0] != 0) throw new ArgumentException($"{name}[0] is {cu[0]}; cumulative lengths start at 0.", name);
        for (int s = 1; s < cu.Length; s++)
            if (cu[s] < cu[s - 1])
                throw new ArgumentException($"{name} decreases at entry {s}: {cu[s - 1]} then {cu[s]}; lengths must be ≥ 0.", name);
        if (cu[^1] == 0) throw new ArgumentException($"{name} ends at 0: the packed row holds no tokens.", name);
    }

    private static int[] Ids(ReadOnlySpan<int> cu)
    {
        var ids = new int[cu[^1]];
        for (int s = 0; s + 1 < cu.Length; s++) ids.AsSpan(cu[s], cu[s + 1] - cu[s]).Fill(s);
        return ids;
    }
}
