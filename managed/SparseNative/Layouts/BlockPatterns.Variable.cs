using SparseNative.Layouts;
namespace SparseNative;

// DeepSpeed's VariableSparsityConfig: Fixed with windows of listed sizes, explicit global blocks and random blocks.
public static partial class BlockPatterns
{
    /// <summary>
    /// DeepSpeed <c>VariableSparsityConfig</c>. List <c>h</c> attends block <c>(r, c)</c> when any of:
    /// <list type="bullet">
    /// <item><b>local</b>: r and c lie in the same window, and <c>c ≤ r</c> if unidirectional. The windows are consecutive, of sizes
    /// <c>localWindowBlocks[0], localWindowBlocks[1], …</c>, the last size repeating to the end; the last window is clipped to <c>nb</c>;</item>
    /// <item><b>vertical global</b>: <c>c ∈ [s, min(e, nb))</c> for a global range <c>[s, e)</c>, and <c>r ≥ s</c> if unidirectional.
    /// The ranges are <c>[globalBlockIndices[i], globalBlockEndIndices[i])</c>, or <c>[globalBlockIndices[i], globalBlockIndices[i] + 1)</c>
    /// without end indices; ranges starting at or after <c>nb</c> are ignored;</item>
    /// <item><b>horizontal global</b> (only with <paramref name="horizontalGlobalAttention"/>): r lies in a global range (any c);</item>
    /// <item><b>random</b>: c is one of the <c>min(numRandomBlocks, n)</c> distinct random picks of row r among the candidates
    /// <c>[0, n)</c>, <c>n = nb</c> (bidirectional) or <c>n = r + 1</c> (unidirectional), drawn from (<paramref name="seed"/>, h, r)
    /// by SparseNative's own SplitMix64 rule (docs/PATTERNS.md, "Random blocks"), the same on every runtime and machine.</item>
    /// </list>
    /// </summary>
    /// <remarks>
    /// <para>As in DeepSpeed, a random pick may land on a local or global block, so a row can gain fewer than
    /// <paramref name="numRandomBlocks"/> extra blocks.</para>
    /// <para>Differences from DeepSpeed: random picks of a unidirectional layout come from <c>[0, r]</c> (DeepSpeed samples the
    /// whole row even when unidirectional, giving blocks that a causal mask empties); rows with fewer than
    /// <paramref name="numRandomBlocks"/> candidates take them all (DeepSpeed raises when <c>nb &lt; numRandomBlocks</c>);
    /// any length is accepted. Unidirectional layouts are causal (<see cref="BlockLayout.IsCausal"/>); their global ranges wider
    /// than one block hold blocks above the diagonal, as in DeepSpeed, which the token causal mask empties.</para>
    /// </remarks>
    /// <param name="sequenceLength">Tokens (≥ 1), queries and keys alike.</param>
    /// <param name="blockSize">16, 32, 64 or 128.</param>
    /// <param name="numRandomBlocks">≥ 0 random blocks per row.</param>
    /// <param name="localWindowBlocks">Window sizes, each ≥ 1, at least one; default <c>[4]</c>.</param>
    /// <param name="globalBlockIndices">Global block starts, each ≥ 0; default <c>[0]</c>; may be empty.</param>
    /// <param name="globalBlockEndIndices">Exclusive ends, one per start and greater than it; null = one block each.</param>
    /// <param name="unidirectional">DeepSpeed's <c>attention='unidirectional'</c>; gives a causal layout.</param>
    /// <param name="horizontalGlobalAttention">Global rows attend everything; not allowed with <paramref name="unidirectional"/>.</param>
    /// <param name="heads">≥ 1: lists returned when there are random blocks (each head draws its own); otherwise one list.</param>
    /// <param name="seed">Seed of the random blocks.</param>
    public static BlockLayout Variable(int sequenceLength, int blockSize, int numRandomBlocks = 0, int[]? localWindowBlocks = null,
        int[]? globalBlockIndices = null, int[]? globalBlockEndIndices = null, bool unidirectional = false,
        bool horizontalGlobalAttention = false, int heads = 1, int seed = 0)
    {
        int nb = CheckedBlocks(sequenceLength, nameof(sequenceLength), blockSize);
        CheckAtLeast(numRandomBlocks, 0, nameof(numRandomBlocks));
        CheckAtLeast(heads, 1, nameof(heads));
        int[] windows = localWindowBlocks ?? [4];
        if (windows.Length == 0)
            throw new ArgumentException("localWindowBlocks is empty; give at least one window size.", nameof(localWindowBlocks));
        for (int i = 0; i < windows.Length; i++)
            if (windows[i] < 1)
                throw new ArgumentOutOfRangeException(nameof(localWindowBlocks), windows[i],
                    $"localWindowBlocks[{i}] = {windows[i]}; window sizes must be at least 1.");
        var ranges = GlobalRanges(globalBlockIndices, globalBlockEndIndices);
        if (unidirectional && horizontalGlobalAttention)
            throw new ArgumentException(
                "horizontalGlobalAttention = true needs bidirectional attention (unidirectional = false).", nameof(horizontalGlobalAttention));

        // Ranges inside the sequence, clipped to nb; sorted by start so unidirectional rows can stop early.
        var global = ranges.Where(g => g.Start < nb).Select(g => (g.Start, End: Math.Min(g.End, nb))).OrderBy(g => g.Start).ToArray();
        var isGlobalRow = new bool[nb];
        foreach (var (s, e) in global) isGlobalRow.AsSpan(s, e - s).Fill(true);
        long globalColumns = global.Sum(g => (long)(g.End - g.Start));
        long perRow = Math.Min(nb, windows.Max() + globalColumns + numRandomBlocks);
        int lists = numRandomBlocks > 0 ? heads : 1;
        CheckFits(lists * (horizontalGlobalAttention ? nb * (long)nb : nb * perRow), nameof(sequenceLength), sequenceLength);

        // Where each listed window starts (prefix sums); past them the last size repeats.
        var listedStarts = new long[windows.Length + 1];
        for (int i = 0; i < windows.Length; i++) listedStarts[i + 1] = listedStarts[i] + windows[i];
        int last = windows[^1];

        var picker = new RandomBlockPicker(seed);
        return BlockLayout.Build(blockSize, nb, nb, lists, (h, r, row) =>
        {
            if (horizontalGlobalAttention && isGlobalRow[r])
            {
                for (int c = 0; c < nb; c++) row.Add(c);
                return;
            }
            picker.AddPicks(h, r, unidirectional ? r + 1 : nb, numRandomBlocks, row);

            long windowStart;
            int windowSize;
            if (r < listedStarts[^1])
            {
                int i = Array.BinarySearch(listedStarts, (long)r);
                if (i < 0) i = ~i - 1;   // the listed window whose start is the last one ≤ r
                (windowStart, windowSize) = (listedStarts[i], windows[i]);
            }
            else (windowStart, windowSize) = (listedStarts[^1] + (r - listedStarts[^1]) / last * last, last);
            long windowEnd = unidirectional ? r + 1L : Math.Min(nb, windowStart + windowSize);
            for (long c = windowStart; c < windowEnd; c++) row.Add((int)c);

            foreach (var (s, e) in global)
            {
                if (unidirectional && r < s) break;
                for (int c = s; c < e; c++) row.Add(c);
            }
        }, nameof(heads)).WithCausal(unidirectional);
    }
}
