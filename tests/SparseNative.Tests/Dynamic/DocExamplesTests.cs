using Xunit;

namespace SparseNative.Tests.Dynamic;

/// <summary>The examples of docs/DYNAMIC.md, compiled and run, so the document cannot drift from the API.</summary>
public class DocExamplesTests
{
    [Fact]
    public void TopKExample()
    {
        var shape = AttentionShape.SelfAttention(batch: 1, heads: 8, length: 1000, headDim: 64);
        var (q, k, v) = TestData.Qkv(shape, 1);
        var output = new float[shape.QueryElements];
        // --- docs/DYNAMIC.md: top-k ---
        var layout = BlockSelection.TopK(q, k, shape, blockSize: 64,
            new TopKOptions { K = 8, KeepFirstBlocks = 1, KeepLocalWindow = 1, Causal = true });
        SparseAttention.Forward(q, k, v, output, shape, layout, new AttentionOptions { Causal = true });
        // --- end ---
        Assert.Equal(8, layout.LayoutCount);
    }

    [Fact]
    public void RoutingExample()
    {
        var shape = AttentionShape.SelfAttention(1, 4, 512, 32);
        var (q, k, v) = TestData.Qkv(shape, 2);
        var output = new float[shape.QueryElements];
        // --- docs/DYNAMIC.md: routing ---
        var layout = BlockSelection.Routing(q, k, shape, blockSize: 32,
            new RoutingOptions { Clusters = 8, TopClusters = 2, Iterations = 10, Seed = 42, Causal = true });
        SparseAttention.Forward(q, k, v, output, shape, layout, new AttentionOptions { Causal = true });
        // --- end ---
        Assert.Equal(4, layout.LayoutCount);
    }

    [Fact]
    public void PackedExample()
    {
        const int heads = 4, headDim = 32;
        // --- docs/DYNAMIC.md: packed ---
        int[] cuSeqlens = [0, 100, 350, 400];                 // three sequences of 100, 250 and 50 tokens
        var packed = PackedSequences.FromCumulativeLengths(cuSeqlens, cuSeqlens, blockSize: 64, causal: true);
        var shape = new AttentionShape(1, heads, heads, packed.QueryLength, packed.KeyLength, headDim);
        // q, k, v: [1, heads, 400, headDim]
        // --- end ---
        var (q, k, v) = TestData.Qkv(shape, 3);
        var output = new float[shape.QueryElements];
        // --- docs/DYNAMIC.md: packed (call) ---
        SparseAttention.Forward(q, k, v, output, shape, packed.Layout, new AttentionOptions
        {
            Causal = true, QuerySegmentIds = packed.QuerySegmentIds, KeySegmentIds = packed.KeySegmentIds,
        });
        // --- end ---
        Assert.True(packed.Layout.Density < 1);
    }

    [Fact]
    public void SwinExample()
    {
        const int heads = 3, headDim = 32;
        var tokens = TestData.Random(28 * 28 * heads * headDim, 4); // one image, BSHD [1, 28·28, heads, headDim]
        float[] q = tokens, k = tokens, v = tokens;
        // --- docs/DYNAMIC.md: swin ---
        var windows = SwinWindows.Shifted(height: 28, width: 28, window: 7, shift: 3, blockSize: 64);
        int features = heads * headDim;                       // one token's floats in BSHD
        float[] Permuted(float[] x) { var y = new float[x.Length]; windows.Permute(x, y, features); return y; }
        var shape = AttentionShape.SelfAttention(1, heads, windows.TokenCount, headDim);
        var permutedOut = new float[shape.QueryElements];
        SparseAttention.Forward(Permuted(q), Permuted(k), Permuted(v), permutedOut, shape, windows.Layout, new AttentionOptions
        {
            Format = TensorFormat.Bshd, QuerySegmentIds = windows.SegmentIds, KeySegmentIds = windows.SegmentIds,
        });
        var output = new float[permutedOut.Length];
        windows.Unpermute(permutedOut, output, features);     // back in grid order; the shift is already undone
        // --- end ---
        Assert.Equal(16, windows.WindowCount);
    }

    [Fact]
    public void DecodeExample()
    {
        var shape = new AttentionShape(1, 8, 2, 1, 5000, 64);
        var (q, k, v) = TestData.Qkv(shape, 5);
        var output = new float[shape.QueryElements];
        // --- docs/DYNAMIC.md: decode ---
        // One new token (QueryLength 1) against a 5000-token cache: sink + local window + every 16th block.
        int kb = shape.KeyBlocks(64);
        var layout = BlockLayout.FromPredicate(64, 1, kb, 1, (_, _, c) => c == 0 || c >= kb - 8 || c % 16 == 15);
        SparseAttention.ForwardSplitKeys(q, k, v, output, shape, layout, new AttentionOptions { Causal = true }, splits: 0);
        // --- end ---
        var expected = new float[shape.QueryElements];
        SparseAttention.Forward(q, k, v, expected, shape, layout, new AttentionOptions { Causal = true });
        Assert.True(TestData.RelativeError(output, expected) <= Tolerances.ForwardRelative);
    }

    [Fact]
    public void DecodeSelectionExample()
    {
        var shape = new AttentionShape(1, 8, 2, 1, 5000, 64);
        var (q, k, v) = TestData.Qkv(shape, 6);
        var prompt = k;                                       // the keys of the prompt, [1, 2, 5000, 64]
        var output = new float[shape.QueryElements];
        // --- docs/DYNAMIC.md: decode selection ---
        var keyMeans = new KeyBlockMeans(batch: 1, keyValueHeads: 2, headDim: 64, blockSize: 64);
        keyMeans.Append(prompt, tokens: 5000);                // then keyMeans.Append(newKey, 1) after each step
        var options = new TopKOptions { K = 16, KeepFirstBlocks = 1, KeepLocalWindow = 4, Causal = true, PerKeyValueGroup = true };
        var layout = BlockSelection.TopK(q, keyMeans, shape, blockSize: 64, options);
        SparseAttention.ForwardSplitKeys(q, k, v, output, shape, layout, new AttentionOptions { Causal = true });
        // --- end ---
        Assert.Equal(BlockSelection.TopK(q, k, shape, 64, options), layout);
    }
}
