namespace SparseNative;

// DeepSpeed's FixedSparsityConfig (after "Generative Modeling with Sparse Transformers", Child et al. 2019).
public static partial class BlockPatterns
{
    /// <summary>
    /// DeepSpeed <c>FixedSparsityConfig</c>: non-overlapping local windows plus per-window global ("summary") blocks.
    /// With <c>nl</c> = <paramref name="numLocalBlocks"/>, <c>g</c> = <paramref name="numGlobalBlocks"/>,
    /// <c>P</c> = <paramref name="numDifferentGlobalPatterns"/>, list <c>h</c> attends block <c>(r, c)</c> when any of:
    /// <list type="bullet">
    /// <item><b>local</b>: <c>floor(r / nl) = floor(c / nl)</c> (the same window), and <c>c ≤ r</c> if unidirectional;</item>
    /// <item><b>vertical global</b>: <c>c ∈ [s, s + g)</c> for a global start <c>s</c>, and <c>r ≥ s</c> if unidirectional (any r otherwise);</item>
    /// <item><b>horizontal global</b> (only with <paramref name="horizontalGlobalAttention"/>): <c>r ∈ [s, s + g)</c> for a global start <c>s</c> (any c).</item>
    /// </list>
    /// The global starts of list <c>h</c>: with <c>f = nl − (1 + h mod P)·g</c>, every full window <c>w &lt; floor(nb / nl)</c>
    /// has <c>s = w·nl + f</c>; when <c>nb</c> is not a multiple of <c>nl</c>, the short last window has
    /// <c>s = max(0, min(floor(nb / nl)·nl + f, nb − g))</c> (DeepSpeed moves it left rather than dropping it); ranges are clipped to <c>[0, nb)</c>.
    /// </summary>
    /// <remarks>
    /// <para>Unidirectional layouts are causal (<see cref="BlockLayout.IsCausal"/>): besides the diagonal blocks, with <c>g &gt; 1</c>
    /// they hold blocks above the diagonal (row <c>s</c> attends <c>s + 1</c>, as in DeepSpeed), and the token causal mask,
    /// which attention over them always applies, empties those.</para>
    /// <para>Differences from DeepSpeed: any length is accepted (DeepSpeed needs a multiple of the block), and when
    /// <c>nb &lt; g</c> the last start is clamped to 0 where DeepSpeed's negative Python slice index wraps around.</para>
    /// </remarks>
    /// <param name="sequenceLength">Tokens (≥ 1), queries and keys alike.</param>
    /// <param name="blockSize">16, 32, 64 or 128.</param>
    /// <param name="numLocalBlocks">nl ≥ 1: the window size, in blocks; must be a multiple of <paramref name="numGlobalBlocks"/>.</param>
    /// <param name="numGlobalBlocks">g ≥ 1: consecutive global blocks per window.</param>
    /// <param name="unidirectional">DeepSpeed's <c>attention='unidirectional'</c>; gives a causal layout.</param>
    /// <param name="horizontalGlobalAttention">Global rows attend everything; not allowed with <paramref name="unidirectional"/>.</param>
    /// <param name="numDifferentGlobalPatterns">P ≥ 1, at most <c>nl / g</c>; P &gt; 1 needs <paramref name="heads"/> &gt; 1
    /// (DeepSpeed's <c>different_layout_per_head</c>).</param>
    /// <param name="heads">≥ 1: lists returned when P &gt; 1 (list h uses pattern h mod P); with P = 1 every head is the same and one list is returned.</param>
    /// <exception cref="ArgumentException">A parameter is out of range or a combination DeepSpeed rejects
    /// (nl not a multiple of g, horizontal with unidirectional, P &gt; nl / g, P &gt; 1 with one head).</exception>
    public static BlockLayout Fixed(int sequenceLength, int blockSize, int numLocalBlocks = 4, int numGlobalBlocks = 1,
        bool unidirectional = false, bool horizontalGlobalAttention = false, int numDifferentGlobalPatterns = 1, int heads = 1)
    {
        int nb = CheckedBlocks(sequenceLength, nameof(sequenceLength), blockSize);
        CheckAtLeast(numLocalBlocks, 1, nameof(numLocalBlocks));
        CheckAtLeast(numGlobalBlocks, 1, nameof(numGlobalBlocks));
        CheckAtLeast(numDifferentGlobalPatterns, 1, nameof(numDifferentGlobalPatterns));
        CheckAtLeast(heads, 1, nameof(heads));
        if (numLocalBlocks % numGlobalBlocks != 0)
            throw new ArgumentException(
                $"numLocalBlocks ({numLocalBlocks}) must be a multiple of numGlobalBlocks ({numGlobalBlocks}).", nameof(numGlobalBlocks));
        if (unidirectional && horizontalGlobalAttention)
            throw new ArgumentException(
                "horizontalGlobalAttention = true needs bidirectional attention (unidirectional = false).", nameof(horizontalGlobalAttention));
        if (numDifferentGlobalPatterns > numLocalBlocks / numGlobalBlocks)
            throw new ArgumentOutOfRangeException(nameof(numDifferentGlobalPatterns), numDifferentGlobalPatterns,
                $"numDifferentGlobalPatterns = {numDifferentGlobalPatterns} exceeds numLocalBlocks / numGlobalBlocks = {numLocalBlocks / numGlobalBlocks}.");
        if (numDifferentGlobalPatterns > 1 && heads == 1)
            throw new ArgumentException(
                $"numDifferentGlobalPatterns = {numDifferentGlobalPatterns} needs heads > 1 (one list per head); got heads = 1.", nameof(heads));

        int lists = numDifferentGlobalPatterns > 1 ? heads : 1;
        int fullWindows = nb / numLocalBlocks;
        long globalStarts = fullWindows + (nb % numLocalBlocks != 0 ? 1 : 0);
        long perRow = Math.Min(nb, numLocalBlocks + globalStarts * numGlobalBlocks);
        CheckFits(lists * (horizontalGlobalAttention ? nb * (long)nb : nb * perRow), nameof(sequenceLength), sequenceLength);

        // Global starts per pattern, ascending; computed once (nb / nl + 1 entries), not per row.
        var startsOfPattern = new int[numDifferentGlobalPatterns][];
        for (int p = 0; p < numDifferentGlobalPatterns; p++)
        {
            int first = numLocalBlocks - (1 + p) * numGlobalBlocks;
            var starts = new int[globalStarts];
            for (int w = 0; w < fullWindows; w++) starts[w] = w * numLocalBlocks + first;
            if (globalStarts > fullWindows)
                starts[fullWindows] = (int)Math.Max(0, Math.Min((long)fullWindows * numLocalBlocks + first, nb - numGlobalBlocks));
            startsOfPattern[p] = starts;
        }

        return BlockLayout.Build(blockSize, nb, nb, lists, (h, r, row) =>
        {
            var starts = startsOfPattern[h % numDifferentGlobalPatterns];
            if (horizontalGlobalAttention && IsInAnyRange(starts, numGlobalBlocks, r))
            {
                for (int c = 0; c < nb; c++) row.Add(c);
                return;
            }
            int windowStart = r / numLocalBlocks * numLocalBlocks;
            int windowEnd = unidirectional ? r + 1 : (int)Math.Min(nb, (long)windowStart + numLocalBlocks);
            for (int c = windowStart; c < windowEnd; c++) row.Add(c);
            foreach (int s in starts)
            {
                if (unidirectional && r < s) break;   // starts ascend: no later range is visible from row r
                for (long c = s; c < s + (long)numGlobalBlocks && c < nb; c++) row.Add((int)c);
            }
        }, nameof(heads)).WithCausal(unidirectional);
    }

    private static bool IsInAnyRange(int[] starts, int width, int r)
    {
        foreach (int s in starts)
            if (r >= s && r < s + (long)width) return true;
        return false;
    }
}
