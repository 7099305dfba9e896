using SparseNative.Layouts;
namespace SparseNative;

// DeepSpeed's BigBirdSparsityConfig and BSLongformerSparsityConfig: a sliding window plus global rows/columns (plus random blocks).
public static partial class BlockPatterns
{
    /// <summary>
    /// DeepSpeed <c>BigBirdSparsityConfig</c> (after "Big Bird: Transformers for Longer Sequences"). With
    /// <c>w = numSlidingWindowBlocks / 2</c> (integer division) and <c>g</c> = <paramref name="numGlobalBlocks"/>, list <c>h</c>
    /// attends block <c>(r, c)</c> when any of
    /// <list type="bullet">
    /// <item><b>sliding</b>: <c>|r − c| ≤ w</c>;</item>
    /// <item><b>global</b>: <c>r &lt; g</c> or <c>c &lt; g</c>;</item>
    /// <item><b>random</b>: c is one of the <c>min(numRandomBlocks, n)</c> distinct random picks of row r among the candidates
    /// <c>[0, n)</c>, <c>n = nb</c> (bidirectional) or <c>n = r + 1</c> (unidirectional), drawn from (<paramref name="seed"/>, h, r)
    /// by SparseNative's own SplitMix64 rule (docs/PATTERNS.md, "Random blocks"), the same on every runtime and machine;</item>
    /// </list>
    /// and, if <paramref name="unidirectional"/>, also <c>c ≤ r</c> (DeepSpeed applies <c>tril</c> to the whole layout).
    /// </summary>
    /// <remarks>
    /// <para>The random rule (also used by <see cref="Variable"/>): row r of list h runs SplitMix64 from state
    /// <c>s = M(M(M(seed) ^ h) ^ r)</c> (seed as uint32, all values uint64, <c>M</c> = SplitMix64's output mix), each draw being
    /// <c>s += 0x9E3779B97F4A7C15; M(s)</c>; a value below m is <c>floor(draw · m / 2⁶⁴)</c>; the k distinct picks come from
    /// Floyd's algorithm (for j = n − k … n − 1: draw t below j + 1, take t unless taken, else j). No System.Random, so the
    /// layout is the same on every .NET version.</para>
    /// <para>Random picks follow DeepSpeed's rule: they are drawn over the whole candidate row, so a pick may land on a sliding
    /// or global block and a row can gain fewer than <paramref name="numRandomBlocks"/> extra blocks.</para>
    /// <para>Differences from DeepSpeed: where a row has fewer than <paramref name="numRandomBlocks"/> candidates it takes them all
    /// (DeepSpeed raises, which makes every unidirectional layout with two or more random blocks fail at row 0), and a window or
    /// global count larger than <c>nb</c> is clipped instead of rejected, so short prompts work; any length is accepted.</para>
    /// </remarks>
    /// <param name="sequenceLength">Tokens (≥ 1), queries and keys alike.</param>
    /// <param name="blockSize">16, 32, 64 or 128.</param>
    /// <param name="numRandomBlocks">≥ 0 random blocks per row.</param>
    /// <param name="numSlidingWindowBlocks">≥ 1: window width in blocks (w = value / 2 on each side).</param>
    /// <param name="numGlobalBlocks">≥ 0: leading blocks that are global rows and columns.</param>
    /// <param name="unidirectional">DeepSpeed's <c>attention='unidirectional'</c>; gives a causal layout (<see cref="BlockLayout.IsCausal"/>).</param>
    /// <param name="heads">≥ 1: lists returned when there are random blocks (each head draws its own); otherwise one list.</param>
    /// <param name="seed">Seed of the random blocks.</param>
    public static BlockLayout BigBird(int sequenceLength, int blockSize, int numRandomBlocks = 1, int numSlidingWindowBlocks = 3,
        int numGlobalBlocks = 1, bool unidirectional = false, int heads = 1, int seed = 0)
    {
        int nb = CheckedBlocks(sequenceLength, nameof(sequenceLength), blockSize);
        CheckAtLeast(numRandomBlocks, 0, nameof(numRandomBlocks));
        CheckAtLeast(numSlidingWindowBlocks, 1, nameof(numSlidingWindowBlocks));
        CheckAtLeast(numGlobalBlocks, 0, nameof(numGlobalBlocks));
        CheckAtLeast(heads, 1, nameof(heads));
        int w = numSlidingWindowBlocks / 2;
        int g = Math.Min(numGlobalBlocks, nb);
        int lists = numRandomBlocks > 0 ? heads : 1;
        long perRow = Math.Min(nb, 2L * w + 1 + g + numRandomBlocks);
        CheckFits(lists * (nb * perRow + (long)g * nb), nameof(sequenceLength), sequenceLength);

        var picker = new RandomBlockPicker(seed);
        return BlockLayout.Build(blockSize, nb, nb, lists, (h, r, row) =>
        {
            int end = unidirectional ? r + 1 : nb;   // tril when unidirectional
            if (r < g)
            {
                for (int c = 0; c < end; c++) row.Add(c);
                return;
            }
            picker.AddPicks(h, r, end, numRandomBlocks, row);
            AddSlidingAndGlobalColumns(row, r, w, Math.Min(g, end), end);
        }, nameof(heads)).WithCausal(unidirectional);
    }

    /// <summary>
    /// DeepSpeed <c>BSLongformerSparsityConfig</c> (block-sparse "Longformer: The Long-Document Transformer"). With
    /// <c>w = numSlidingWindowBlocks / 2</c> (integer division), block <c>(r, c)</c> is active when
    /// <c>|r − c| ≤ w</c>, or r or c lies in a global range (<c>r</c> attends everything, everything attends <c>c</c>);
    /// and, if <paramref name="unidirectional"/>, also <c>c ≤ r</c> (DeepSpeed applies <c>tril</c>).
    /// The global ranges are <c>[globalBlockIndices[i], globalBlockEndIndices[i])</c>, or single blocks
    /// <c>globalBlockIndices[i]</c> without end indices; clipped to <c>[0, nb)</c>, those starting at or after <c>nb</c> ignored.
    /// </summary>
    /// <remarks>The same for every head, so one list is returned whatever <paramref name="heads"/> is (DeepSpeed's
    /// <c>different_layout_per_head</c> also gives identical heads here). Differences from DeepSpeed: a window wider than
    /// <c>nb</c> is clipped instead of rejected, and any length is accepted.</remarks>
    /// <param name="sequenceLength">Tokens (≥ 1), queries and keys alike.</param>
    /// <param name="blockSize">16, 32, 64 or 128.</param>
    /// <param name="numSlidingWindowBlocks">≥ 1: window width in blocks (w = value / 2 on each side).</param>
    /// <param name="globalBlockIndices">Global block starts, each ≥ 0; default <c>[0]</c>; may be empty.</param>
    /// <param name="globalBlockEndIndices">Exclusive ends, one per start and greater than it; null = one block each.</param>
    /// <param name="unidirectional">DeepSpeed's <c>attention='unidirectional'</c>; gives a causal layout (<see cref="BlockLayout.IsCausal"/>).</param>
    /// <param name="heads">≥ 1; accepted for parity with DeepSpeed, the result has one list.</param>
    public static BlockLayout BSLongformer(int sequenceLength, int blockSize, int numSlidingWindowBlocks = 3,
        int[]? globalBlockIndices = null, int[]? globalBlockEndIndices = null, bool unidirectional = false, int heads = 1)
    {
        int nb = CheckedBlocks(sequenceLength, nameof(sequenceLength), blockSize);
        CheckAtLeast(numSlidingWindowBlocks, 1, nameof(numSlidingWindowBlocks));
        CheckAtLeast(heads, 1, nameof(heads));
        var ranges = GlobalRanges(globalBlockIndices, globalBlockEndIndices);
        int w = numSlidingWindowBlocks / 2;

        var global = ranges.Where(g => g.Start < nb).Select(g => (g.Start, End: Math.Min(g.End, nb))).OrderBy(g => g.Start).ToArray();
        var isGlobalRow = new bool[nb];
        foreach (var (s, e) in global) isGlobalRow.AsSpan(s, e - s).Fill(true);
        long globalBlocks = isGlobalRow.Count(x => x);
        CheckFits(nb * Math.Min(nb, 2L * w + 1 + globalBlocks) + globalBlocks * nb, nameof(sequenceLength), sequenceLength);

        return BlockLayout.Build(blockSize, nb, nb, 1, (_, r, row) =>
        {
            int end = unidirectional ? r + 1 : nb;
            if (isGlobalRow[r])
            {
                for (int c = 0; c < end; c++) row.Add(c);
                return;
            }
            AddSlidingAndGlobalColumns(row, r, w, 0, end);
            foreach (var (s, e) in global)
            {
                if (s >= end) break;
                for (int c = s; c < Math.Min(e, end); c++) row.Add(c);
            }
        }).WithCausal(unidirectional);
    }

    // Row r's sliding window [r − w, r + w] and the leading global columns [0, leadingGlobal), all below end.
    private static void AddSlidingAndGlobalColumns(List<int> row, int r, int w, int leadingGlobal, int end)
    {
        for (int c = 0; c < leadingGlobal; c++) row.Add(c);
        long hi = Math.Min(end - 1L, (long)r + w);
        for (long c = Math.Max(0L, (long)r - w); c <= hi; c++) row.Add((int)c);
    }
}
