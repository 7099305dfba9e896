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
    public void HalfPrecisionCacheExampleRuns()
    {
        var shape = new AttentionShape(Batch: 1, QueryHeads: 4, KeyValueHeads: 2, QueryLength: 256, KeyLength: 256, HeadDim: 64);
        var layout = BlockPatterns.BigBird(sequenceLength: 256, blockSize: 64, numRandomBlocks: 1, numSlidingWindowBlocks: 1, numGlobalBlocks: 1);
        var (q, k, v) = TestData.Qkv(shape, 2);
        Half[] kCache = Array.ConvertAll(k, x => (Half)x), vCache = Array.ConvertAll(v, x => (Half)x);
        var output = new float[shape.QueryElements];
        // The README's call, with the README's argument order (Q and O float, K and V fp16).
        SparseAttention.Forward<float, Half>(q, kCache, vCache, output, shape, layout);
        var expected = new float[shape.QueryElements];
        SparseAttention.Forward(q, Array.ConvertAll(kCache, x => (float)x), Array.ConvertAll(vCache, x => (float)x), expected, shape, layout,
            new AttentionOptions { Backend = Backend.Reference });
        Assert.True(TestData.RelativeError(output, expected) <= Tolerances.ForwardRelative);
    }

    [Fact]
    public void TrainingLoopRuns()
    {
        var shape = new AttentionShape(Batch: 1, QueryHeads: 2, KeyValueHeads: 2, QueryLength: 256, KeyLength: 256, HeadDim: 16);
        var layout = BlockPatterns.BSLongformer(sequenceLength: 256, blockSize: 16, numSlidingWindowBlocks: 3);
        var (q, k, v) = TestData.Qkv(shape, 4);
        // A reachable target: the output of the same attention over other inputs.
        var (tq, tk, tv) = TestData.Qkv(shape, 5);
        var target = new float[shape.QueryElements];
        SparseAttention.Forward(tq, tk, tv, target, shape, layout);
        const int steps = 40;
        const float learningRate = 0.5f;
        var losses = new List<double>();
        float[] output = new float[shape.QueryElements], lse = new float[shape.LogSumExpElements], dO = new float[shape.QueryElements];
        float[] dq = new float[shape.QueryElements], dk = new float[shape.KeyElements], dv = new float[shape.KeyElements];
        for (int step = 0; step < steps; step++)
        {
            AttentionContext attention = SparseAttention.ForwardForTraining(q, k, v, shape, layout, output: output, logSumExp: lse);
            for (int i = 0; i < dO.Length; i++) dO[i] = output[i] - target[i]; // the loss ½‖O − target‖²
            losses.Add(dO.Sum(x => 0.5 * x * x));
            attention.Backward(dO, dq, dk, dv);
            for (int i = 0; i < q.Length; i++) q[i] -= learningRate * dq[i];
            for (int i = 0; i < k.Length; i++) { k[i] -= learningRate * dk[i]; v[i] -= learningRate * dv[i]; }
        }
        // Gradient descent with the library's gradients lowers the loss at every step and by more than 10× in 40 steps.
        for (int step = 1; step < steps; step++) Assert.True(losses[step] < losses[step - 1], $"step {step}: loss {losses[step]:G4} ≥ {losses[step - 1]:G4}");
        TestContext.Current.TestOutputHelper?.WriteLine(string.Join(" ", losses.Select(l => l.ToString("G3"))));
        Assert.True(losses[^1] < 0.1 * losses[0], $"loss {losses[0]:G4} -> {losses[^1]:G4}"); // about 47 -> 3.7
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

    [Fact]
    public void PagedDecodeLoopRuns()
    {
        // The README's loop at small sizes (block 16, 2 K/V heads, d 16), checked at every step against the reference over
        // the same tokens as plain tensors.
        const int block = 16, kvHeads = 2, d = 16, pages = 8, maxBlocks = 8, steps = 70;
        float[] kPages = new float[pages * kvHeads * block * d], vPages = new float[kPages.Length];
        int[] table = new int[maxBlocks];
        var cache = KeyValueCache.Paged(pages, table, maxBlocks);
        var options = new AttentionOptions { Causal = true, KeyValueCache = cache };
        var keys = TestData.Random(kvHeads * steps * d, 1);
        var values = TestData.Random(kvHeads * steps * d, 2);
        int length = 0, nextFreePage = 0;
        for (int step = 0; step < steps; step++)
        {
            var kNew = new float[kvHeads * d];
            var vNew = new float[kvHeads * d];
            for (int h = 0; h < kvHeads; h++)
            {
                Array.Copy(keys, (h * steps + step) * d, kNew, h * d, d);
                Array.Copy(values, (h * steps + step) * d, vNew, h * d, d);
            }
            if (length % block == 0) table[length / block] = nextFreePage++;
            for (int h = 0; h < kvHeads; h++)
            {
                int row = (int)cache.RowOffset(sequence: 0, h, token: length, kvHeads, d, block);
                kNew.AsSpan(h * d, d).CopyTo(kPages.AsSpan(row, d));
                vNew.AsSpan(h * d, d).CopyTo(vPages.AsSpan(row, d));
            }
            length++;
            var shape = new AttentionShape(Batch: 1, QueryHeads: 8, KeyValueHeads: kvHeads, QueryLength: 1, KeyLength: length, HeadDim: d);
            var layout = BlockPatterns.Dense(queryLength: 1, block, keyLength: length);
            var q = TestData.Random(shape.QueryElements, step);
            var o = new float[shape.QueryElements];
            SparseAttention.Forward(q, kPages, vPages, o, shape, layout, options);

            var expected = new float[shape.QueryElements];
            SparseAttention.Forward(q, TestData.TokenSlice(keys, kvHeads, steps, 0, length, d), TestData.TokenSlice(values, kvHeads, steps, 0, length, d),
                expected, shape, layout, new AttentionOptions { Causal = true, Backend = Backend.Reference });
            Assert.True(TestData.RelativeError(o, expected) <= Tolerances.ForwardRelative, $"step {step}");
        }
    }
}
