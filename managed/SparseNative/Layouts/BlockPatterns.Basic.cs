namespace SparseNative;

/// <summary>
/// Builders for the structured block-sparsity patterns: each method's documentation states the exact rule for
/// "query block <c>r</c> of list <c>h</c> attends key block <c>c</c>", and docs/PATTERNS.md draws every pattern.
/// </summary>
/// <remarks>
/// <para>Lengths are in tokens; a sequence of <c>L</c> tokens has <c>nb = ceil(L / blockSize)</c> blocks, the last one possibly
/// partial (its tail is masked at token level by every backend). Unlike DeepSpeed, no length has to be a multiple of the block.</para>
/// <para>Patterns that are the same for every head return one list (shared by all heads). Patterns that differ per head
/// (DeepSpeed's <c>different_layout_per_head</c>, Phi-3's <c>num_layout</c>) return one list per head; query head <c>h</c>
/// uses list <c>h % LayoutCount</c>, as everywhere in SparseNative.</para>
/// <para>Builders work row by row and never touch the whole block grid, so a sliding window over 1,048,576 tokens builds at once.</para>
/// <para>Patterns meant for autoregressive models ("causal", "unidirectional", Phi-3) keep blocks on the diagonal that still
/// contain future tokens, so they return layouts with <see cref="BlockLayout.IsCausal"/> set: attention over them always applies
/// the token causal mask, with or without <see cref="AttentionOptions.Causal"/>. Bidirectional patterns return non-causal layouts.</para>
/// </remarks>
public static partial class BlockPatterns
{
    /// <summary>Every block: row <c>r</c> attends every key block <c>c ∈ [0, KB)</c> (DeepSpeed <c>DenseSparsityConfig</c>).</summary>
    /// <param name="queryLength">Query tokens (≥ 1); QB = ceil(queryLength / blockSize).</param>
    /// <param name="blockSize">16, 32, 64 or 128.</param>
    /// <param name="keyLength">Key tokens (≥ 1); defaults to <paramref name="queryLength"/>. KB = ceil(keyLength / blockSize).</param>
    /// <returns>One list.</returns>
    public static BlockLayout Dense(int queryLength, int blockSize, int? keyLength = null)
    {
        int qb = CheckedBlocks(queryLength, nameof(queryLength), blockSize);
        int kb = CheckedBlocks(keyLength ?? queryLength, nameof(keyLength), blockSize);
        CheckFits((long)qb * kb, nameof(queryLength), queryLength);
        return BlockLayout.Build(blockSize, qb, kb, 1, (_, _, row) =>
        {
            for (int c = 0; c < kb; c++) row.Add(c);
        });
    }

    /// <summary>
    /// The blocks the token causal rule needs: block <c>(r, c)</c> is active exactly when it holds at least one pair
    /// <c>(i, j)</c>, <c>i &lt; Lq</c>, <c>j &lt; Lk</c>, with <c>j ≤ i + (Lk − Lq)</c> (bottom-right aligned, as in
    /// docs/SEMANTICS.md). Equivalently row <c>r</c> attends <c>c ∈ [0, floor((min((r+1)·bs, Lq) − 1 + Lk − Lq) / bs)]</c>,
    /// clipped to <c>[0, KB)</c>; a row is empty when that bound is negative (possible only when <c>Lk &lt; Lq</c>).
    /// </summary>
    /// <remarks>
    /// Blocks on the diagonal also hold future tokens, so the layout is causal (<see cref="BlockLayout.IsCausal"/>): attention
    /// over it applies the token-level mask inside them without <see cref="AttentionOptions.Causal"/>. The blocks alone only
    /// skip what lies entirely in the future; <c>WithCausal(false)</c> keeps just that (block-causal attention).
    /// </remarks>
    /// <param name="queryLength">Query tokens Lq (≥ 1).</param>
    /// <param name="blockSize">16, 32, 64 or 128.</param>
    /// <param name="keyLength">Key tokens Lk (≥ 1); defaults to <paramref name="queryLength"/>.</param>
    /// <returns>One causal list.</returns>
    public static BlockLayout Causal(int queryLength, int blockSize, int? keyLength = null)
    {
        int qb = CheckedBlocks(queryLength, nameof(queryLength), blockSize);
        int lk = keyLength ?? queryLength;
        int kb = CheckedBlocks(lk, nameof(keyLength), blockSize);
        CheckFits((long)qb * kb, nameof(queryLength), queryLength);
        long shift = (long)lk - queryLength;
        return BlockLayout.Build(blockSize, qb, kb, 1, (_, r, row) =>
        {
            long lastQuery = Math.Min((long)(r + 1) * blockSize, queryLength) - 1;
            long lastKey = lastQuery + shift;   // the latest key any query of this block may see
            if (lastKey < 0) return;
            long lastBlock = Math.Min(kb - 1, lastKey / blockSize);
            for (int c = 0; c <= lastBlock; c++) row.Add(c);
        }).WithCausal(true);
    }

    /// <summary>
    /// Sliding window of whole blocks: row <c>r</c> attends <c>c ∈ [r − w, r + w]</c>, or <c>[r − w, r]</c> when
    /// <paramref name="causal"/>, clipped to <c>[0, nb)</c>. DeepSpeed's <c>LocalSlidingWindowSparsityConfig</c>
    /// with <c>num_sliding_window_blocks = n</c> is <c>w = n / 2</c> (integer division), causal for its default
    /// <c>attention='unidirectional'</c>.
    /// </summary>
    /// <param name="sequenceLength">Tokens (≥ 1), queries and keys alike.</param>
    /// <param name="blockSize">16, 32, 64 or 128.</param>
    /// <param name="windowBlocks">w ≥ 0: blocks on each side of the diagonal (0 = the diagonal only).</param>
    /// <param name="causal">Keep only the left half <c>[r − w, r]</c>, and make the layout causal (<see cref="BlockLayout.IsCausal"/>:
    /// the token mask applies inside the diagonal blocks).</param>
    /// <returns>One list.</returns>
    public static BlockLayout LocalWindow(int sequenceLength, int blockSize, int windowBlocks, bool causal = false)
    {
        int nb = CheckedBlocks(sequenceLength, nameof(sequenceLength), blockSize);
        CheckAtLeast(windowBlocks, 0, nameof(windowBlocks));
        long perRow = causal ? Math.Min(windowBlocks + 1L, nb) : Math.Min(2L * windowBlocks + 1, nb);
        CheckFits(nb * perRow, nameof(windowBlocks), windowBlocks);
        return BlockLayout.Build(blockSize, nb, nb, 1, (_, r, row) =>
        {
            int lo = (int)Math.Max(0L, (long)r - windowBlocks);
            int hi = causal ? r : (int)Math.Min(nb - 1L, (long)r + windowBlocks);
            for (int c = lo; c <= hi; c++) row.Add(c);
        }).WithCausal(causal);
    }

    /// <summary>Each block attends only itself: row <c>r</c> attends <c>c = r</c> (independent chunks of <paramref name="blockSize"/> tokens).</summary>
    /// <param name="sequenceLength">Tokens (≥ 1), queries and keys alike.</param>
    /// <param name="blockSize">16, 32, 64 or 128.</param>
    /// <returns>One list.</returns>
    public static BlockLayout BlockDiagonal(int sequenceLength, int blockSize)
    {
        int nb = CheckedBlocks(sequenceLength, nameof(sequenceLength), blockSize);
        return BlockLayout.Build(blockSize, nb, nb, 1, (_, r, row) => row.Add(r));
    }

    /// <summary>
    /// Dilated window: row <c>r</c> attends <c>c = r + m·d</c> for every integer <c>m</c> with <c>|m·d| ≤ span</c>
    /// (only <c>m ≤ 0</c> when <paramref name="causal"/>), kept when <c>0 ≤ c &lt; nb</c>. With <c>d = 1</c> this is
    /// <see cref="LocalWindow"/> with <c>w = span</c>.
    /// </summary>
    /// <param name="sequenceLength">Tokens (≥ 1), queries and keys alike.</param>
    /// <param name="blockSize">16, 32, 64 or 128.</param>
    /// <param name="spanBlocks">span ≥ 0: the farthest offset, in blocks, on each side.</param>
    /// <param name="dilation">d ≥ 1: the step between attended blocks.</param>
    /// <param name="causal">Only offsets ≤ 0, and a causal layout (<see cref="BlockLayout.IsCausal"/>: the token mask applies
    /// inside the diagonal blocks).</param>
    /// <returns>One list.</returns>
    public static BlockLayout Dilated(int sequenceLength, int blockSize, int spanBlocks, int dilation, bool causal = false)
    {
        int nb = CheckedBlocks(sequenceLength, nameof(sequenceLength), blockSize);
        CheckAtLeast(spanBlocks, 0, nameof(spanBlocks));
        CheckAtLeast(dilation, 1, nameof(dilation));
        int steps = spanBlocks / dilation;   // the largest m with m·d ≤ span
        long perRow = Math.Min(causal ? steps + 1L : 2L * steps + 1, nb);
        CheckFits(nb * perRow, nameof(spanBlocks), spanBlocks);
        return BlockLayout.Build(blockSize, nb, nb, 1, (_, r, row) =>
        {
            // Only the m that land inside [0, nb): r + m·d ≥ 0 ⇔ m ≥ −r/d, r + m·d < nb ⇔ m ≤ (nb − 1 − r)/d.
            int mLow = -Math.Min(steps, r / dilation);
            int mHigh = causal ? 0 : Math.Min(steps, (nb - 1 - r) / dilation);
            for (long m = mLow; m <= mHigh; m++) row.Add((int)(r + m * dilation));
        }).WithCausal(causal);
    }
}
