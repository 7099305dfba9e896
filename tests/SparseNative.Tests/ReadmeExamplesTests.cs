using Xunit;

namespace SparseNative.Tests;

/// <summary>The README's code, at small sizes, so the examples compile and run as written.</summary>
public class ReadmeExamplesTests
{
    [Fact]
    public void UsageExampleRuns()
    {
        var shape = new AttentionShape(Batch: 1, QueryHeads: 8, KeyValueHeads: 8, QueryLength: 1024, KeyLength: 1024, HeadDim: 64);
        var layout = BlockPatterns.BigBird(sequenceLength: 1024, blockSize: 64, numRandomBlocks: 2, numSlidingWindowBlocks: 3, numGlobalBlocks: 1);
        var (q, k, v) = TestData.Qkv(shape, 1);
        float[] output = new float[shape.QueryElements], lse = new float[shape.LogSumExpElements];
        Backend ran = SparseAttention.Forward(q, k, v, output, shape, layout, new AttentionOptions { Causal = false }, lse);
        Assert.Equal(SparseAttention.SelectBackend(shape, layout), ran);
        Assert.All(lse, x => Assert.True(float.IsFinite(x)));
        var expected = new float[shape.QueryElements];
        SparseAttention.Forward(q, k, v, expected, shape, layout, new AttentionOptions { Backend = Backend.Reference });
        Assert.True(TestData.RelativeError(output, expected) <= Tolerances.ForwardRelative);
    }

    [Fact]
    public void DynamicExamplesRun()
    {
        var shape = new AttentionShape(1, 2, 2, 4096, 4096, 16);
        var (q, k, v) = TestData.Qkv(shape, 2);
        var topk = BlockSelection.TopK(q, k, shape, blockSize: 64, new TopKOptions { K = 8, Causal = true });
        var mass = BlockSelection.TopK(q, k, shape, 64, new TopKOptions { MassThreshold = 0.9 });
        var routed = BlockSelection.Routing(q, k, shape, 64, new RoutingOptions { Clusters = 8, Seed = 1 });
        Assert.True(topk.Density < 0.25 && mass.ActiveBlocks > 0 && routed.ActiveBlocks > 0);

        int[] cu = [0, 700, 1500, 4096];
        var packed = PackedSequences.FromCumulativeLengths(cu, cu, blockSize: 64, causal: true);
        var o = new float[shape.QueryElements];
        SparseAttention.Forward(q, k, v, o, shape, packed.Layout, new AttentionOptions
        {
            Causal = true, QuerySegmentIds = packed.QuerySegmentIds, KeySegmentIds = packed.KeySegmentIds,
        });
        // Packed attention is each sequence's own causal attention: compare with the dense float64 computation of each alone.
        for (int seq = 0; seq + 1 < cu.Length; seq++)
        {
            int start = cu[seq], length = cu[seq + 1] - start;
            var one = new AttentionShape(1, 2, 2, length, length, 16);
            var all = BlockLayout.FromPredicate(64, one.QueryBlocks(64), one.KeyBlocks(64), 1, (_, _, _) => true);
            var slice = (float[] x) => TestData.TokenSlice(x, 2, shape.QueryLength, start, length, 16);
            var (alone, _) = NaiveDense.Run(slice(q), slice(k), slice(v), one, all, causal: true);
            Assert.True(TestData.RelativeError(slice(o), alone) <= Tolerances.ForwardRelative, $"sequence {seq}: rel err {TestData.RelativeError(slice(o), alone):E2}");
        }

        var windows = SwinWindows.Shifted(height: 56, width: 56, window: 7, shift: 3, blockSize: 16);
        Assert.Equal(56 * 56, windows.TokenCount);

        var decodeShape = new AttentionShape(1, 2, 2, 1, 4096, 16);
        var q1 = TestData.Random(decodeShape.QueryElements, 3);
        var o1 = new float[decodeShape.QueryElements];
        var decodeLayout = BlockPatterns.Dense(1, 64, keyLength: 4096);
        SparseAttention.ForwardSplitKeys(q1, k, v, o1, decodeShape, decodeLayout, new AttentionOptions { Causal = true });
        var expected = new float[decodeShape.QueryElements];
        SparseAttention.Forward(q1, k, v, expected, decodeShape, decodeLayout, new AttentionOptions { Causal = true, Backend = Backend.Reference });
        Assert.True(TestData.RelativeError(o1, expected) <= Tolerances.ForwardRelative);
    }
}
