using Xunit;

namespace SparseNative.Tests;

/// <summary>The pictures in docs/PATTERNS.md are what the builders produce (regenerate them from <see cref="Pictures"/>).</summary>
public class PatternsDocsTests
{
    /// <summary>Every picture the page shows: its caption line and the layout list it draws.</summary>
    public static IEnumerable<(string Caption, BlockLayout Layout, int List)> Pictures()
    {
        const int bs = 16, n = 10 * bs - 3;   // 10 blocks, the last one partial
        yield return ("Dense(157, 16)", BlockPatterns.Dense(n, bs), 0);
        yield return ("Causal(157, 16)", BlockPatterns.Causal(n, bs), 0);
        yield return ("Causal(60, 16, keyLength: 157)", BlockPatterns.Causal(60, bs, n), 0);
        yield return ("LocalWindow(157, 16, windowBlocks: 1)", BlockPatterns.LocalWindow(n, bs, 1), 0);
        yield return ("LocalWindow(157, 16, windowBlocks: 2, causal: true)", BlockPatterns.LocalWindow(n, bs, 2, causal: true), 0);
        yield return ("BlockDiagonal(157, 16)", BlockPatterns.BlockDiagonal(n, bs), 0);
        yield return ("Dilated(157, 16, spanBlocks: 6, dilation: 3)", BlockPatterns.Dilated(n, bs, 6, 3), 0);
        var strided = BlockPatterns.Strided(n, bs, 3, 4, numLayouts: 2);
        yield return ("Strided(157, 16, localBlocks: 3, verticalStride: 4, numLayouts: 2), list 0", strided, 0);
        yield return ("Strided(157, 16, localBlocks: 3, verticalStride: 4, numLayouts: 2), list 1", strided, 1);
        yield return ("Fixed(157, 16)  (numLocalBlocks 4, numGlobalBlocks 1)", BlockPatterns.Fixed(n, bs), 0);
        yield return ("Fixed(157, 16, 4, 2, unidirectional: true)", BlockPatterns.Fixed(n, bs, 4, 2, unidirectional: true), 0);
        yield return ("Fixed(157, 16, 4, 1, horizontalGlobalAttention: true)", BlockPatterns.Fixed(n, bs, 4, 1, horizontalGlobalAttention: true), 0);
        var patterns = BlockPatterns.Fixed(n, bs, 4, 1, numDifferentGlobalPatterns: 2, heads: 2);
        yield return ("Fixed(157, 16, 4, 1, numDifferentGlobalPatterns: 2, heads: 2), list 1", patterns, 1);
        yield return ("Variable(157, 16, 1, localWindowBlocks: [2, 3], globalBlockIndices: [0], seed: 0)",
            BlockPatterns.Variable(n, bs, 1, [2, 3], [0], seed: 0), 0);
        yield return ("Variable(157, 16, 0, [4], globalBlockIndices: [1], globalBlockEndIndices: [3], unidirectional: true)",
            BlockPatterns.Variable(n, bs, 0, [4], [1], [3], unidirectional: true), 0);
        yield return ("BigBird(157, 16)  (1 random, window 3, 1 global, seed 0)", BlockPatterns.BigBird(n, bs), 0);
        yield return ("BigBird(157, 16, 2, 3, 1, unidirectional: true, seed: 1)", BlockPatterns.BigBird(n, bs, 2, 3, 1, true, seed: 1), 0);
        yield return ("BSLongformer(157, 16, 3, globalBlockIndices: [0, 6], globalBlockEndIndices: [1, 8])",
            BlockPatterns.BSLongformer(n, bs, 3, [0, 6], [1, 8]), 0);
    }

    /// <summary>A picture as the page writes it: a fenced text block, the caption on its first line.</summary>
    public static string Fenced(string caption, BlockLayout layout, int list) =>
        $"```text\n{caption}\n{PatternsGrid.Draw(layout, list)}\n```";

    private static string ReadDoc()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string path = Path.Combine(dir.FullName, "docs", "PATTERNS.md");
            if (File.Exists(path)) return File.ReadAllText(path).ReplaceLineEndings("\n");
        }
        throw new FileNotFoundException("docs/PATTERNS.md not found above " + AppContext.BaseDirectory);
    }

    [Fact]
    public void Every_picture_in_the_docs_is_what_the_builder_produces()
    {
        string doc = ReadDoc();
        foreach (var (caption, layout, list) in Pictures())
        {
            string block = Fenced(caption, layout, list);
            Assert.True(doc.Contains(block), $"docs/PATTERNS.md lacks (or has a stale copy of) this picture:\n{block}");
        }
    }
}
