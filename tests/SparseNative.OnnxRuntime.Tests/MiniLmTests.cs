using SparseNative;
using SparseNative.Onnx;
using SparseNative.OnnxRuntime.Tests.Support;
using Xunit;

namespace SparseNative.OnnxRuntime.Tests;

/// <summary>all-MiniLM-L6-v2, a model nobody here wrote: sparsified with a dense layout it gives ORT's own result;
/// with window and BigBird layouts the embeddings stay close to the dense ones (cosine similarity reported).</summary>
public sealed class MiniLmTests
{
    private const int MaxLength = 512, Block = 32;

    internal static SparsifyLayout Layout(BlockLayout layout) =>
        new(layout.BlockSize, layout.QueryBlocks, layout.LayoutCount, layout.AllRowOffsets.ToArray(), layout.AllColumnIndices.ToArray());

    [Fact]
    public void Sparsify_finds_the_six_attentions_and_leaves_nothing_else()
    {
        var model = MiniLm.Model();
        var report = OnnxSparsify.Sparsify(model, Layout(BlockPatterns.Dense(MaxLength, Block, MaxLength)));
        TestContext.Current.SendDiagnosticMessage(report.ToString());
        Assert.Equal(6, report.Changed.Count);
        Assert.Empty(report.Refused);
        Assert.All(report.Changed, c => Assert.Contains("padding mask 'attention_mask'", c));
        Assert.DoesNotContain(model.Graph.Node, n => n.OpType == "Softmax");
        Assert.Equal(6, model.Graph.Node.Count(n => n.OpType == "BlockSparseAttention"));
    }

    [Fact]
    public void Dense_layout_gives_the_original_last_hidden_state()
    {
        var (ids, mask, length) = MiniLm.Tokenize(MiniLm.Sentences);
        int batch = MiniLm.Sentences.Length;
        Assert.Contains(0L, mask);  // padding in the batch
        float[] expected = MiniLm.Run(MiniLm.Model(), false, ids, mask, batch, length);
        var sparse = MiniLm.Model();
        OnnxSparsify.Sparsify(sparse, Layout(BlockPatterns.Dense(MaxLength, Block, MaxLength)));
        float[] actual = MiniLm.Run(sparse, true, ids, mask, batch, length);
        // The padded positions' hidden states are compared too: their queries attend the real keys in both.
        // Bound: 1e-5 relative to (1 + |value|); the hidden state's values reach about ±10.
        double worst = 0;
        for (int i = 0; i < expected.Length; ++i) worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]) / (1 + Math.Abs(expected[i])));
        TestContext.Current.SendDiagnosticMessage($"max |original - sparsified| / (1 + |original|) over last_hidden_state = {worst:g3}");
        Assert.True(worst <= 1e-5, $"max |original - sparsified| / (1 + |original|) over last_hidden_state = {worst:g3}");
        var e = MiniLm.Embeddings(expected, mask, batch, length);
        var a = MiniLm.Embeddings(actual, mask, batch, length);
        for (int b = 0; b < batch; ++b)
            for (int c = 0; c < 384; ++c) Assert.True(Math.Abs(e[b][c] - a[b][c]) <= 1e-5, $"embedding {b}[{c}]: {e[b][c]} vs {a[b][c]}");
    }

    [Theory]
    [InlineData("local", 128)]
    [InlineData("bigbird", 128)]
    [InlineData("local", 512)]
    [InlineData("bigbird", 512)]
    public void Windowed_layouts_stay_close_to_the_dense_embeddings(string pattern, int length)
    {
        var (ids, mask, s) = MiniLm.Tokenize(MiniLm.Sentences.Select(x => string.Join(' ', Enumerable.Repeat(x, length / 16))).ToArray(), length);
        int batch = MiniLm.Sentences.Length;
        ids = Truncate(ids, batch, s, length);
        mask = Truncate(mask, batch, s, length);
        var dense = MiniLm.Embeddings(MiniLm.Run(MiniLm.Model(), false, ids, mask, batch, length), mask, batch, length);
        BlockLayout layout = pattern == "local"
            ? BlockPatterns.LocalWindow(MaxLength, Block, 1)
            : BlockPatterns.BigBird(MaxLength, Block, 1, 3, 1);
        var model = MiniLm.Model();
        OnnxSparsify.Sparsify(model, Layout(layout));
        var sparse = MiniLm.Embeddings(MiniLm.Run(model, true, ids, mask, batch, length), mask, batch, length);
        var cosines = new double[batch];
        for (int b = 0; b < batch; ++b)
        {
            cosines[b] = MiniLm.Cosine(dense[b], sparse[b]);
            TestContext.Current.SendDiagnosticMessage($"{pattern} at {length} tokens, sentence {b}: cosine to dense {cosines[b]:F5}");
            Assert.InRange(cosines[b], 0.8, 1.0 + 1e-6);
        }
        // The layout is in effect: a sentence longer than the window sees fewer keys than with the dense layout.
        Assert.Contains(cosines, c => c < 0.9999);
    }

    private static long[] Truncate(long[] x, int batch, int from, int to)
    {
        if (from == to) return x;
        var r = new long[batch * to];
        for (int b = 0; b < batch; ++b) Array.Copy(x, b * from, r, b * to, Math.Min(from, to));
        return r;
    }
}
