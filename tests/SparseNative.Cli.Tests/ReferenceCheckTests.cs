using Xunit;
using SparseNative.Cli.Compute;

namespace SparseNative.Cli.Tests;

/// <summary>
/// The sampled check must reproduce exactly the rows the reference computes on the whole problem — including the causal
/// offset for cross attention, token tails, GQA and BSHD — so its error is 0 against the reference's own full output, and
/// it must see a deliberately wrong element.
/// </summary>
public sealed class ReferenceCheckTests
{
    [Theory]
    [InlineData(70, 70, false, TensorFormat.Bhsd)]
    [InlineData(70, 70, true, TensorFormat.Bshd)]
    [InlineData(20, 90, true, TensorFormat.Bhsd)]  // decode-like: fewer queries than keys, bottom-right causal
    [InlineData(90, 40, true, TensorFormat.Bshd)]  // more queries than keys: the first rows see nothing (O = 0, lse = −∞)
    [InlineData(33, 65, false, TensorFormat.Bshd)]
    public void Sub_problems_reproduce_the_full_reference_exactly(int lq, int lk, bool causal, TensorFormat format)
    {
        var shape = new AttentionShape(2, 4, 2, lq, lk, 8);
        var data = TensorSet.Random(shape, format, 5);
        int qb = shape.QueryBlocks(16), kb = shape.KeyBlocks(16);
        var rng = new Random(7);
        var mask = new bool[2, qb, kb];
        for (int l = 0; l < 2; l++) for (int r = 0; r < qb; r++) for (int c = 0; c < kb; c++) mask[l, r, c] = rng.NextDouble() < 0.6;
        var layout = BlockLayout.FromDense(mask, 16);
        var o = new float[shape.QueryElements];
        var lse = new float[shape.LogSumExpElements];
        var options = new AttentionOptions { Backend = Backend.Reference, Causal = causal, Format = format };
        SparseAttention.Forward(data.Query, data.Key, data.Value, o, shape, layout, options, lse);

        var all = ReferenceCheck.SampleBlocks(qb, 100, 0);
        var result = ReferenceCheck.Run(data, layout, options.ResolveScale(8), causal, 0, o, lse, all, CancellationToken.None);
        Assert.True(result.Full);
        Assert.Equal((long)2 * 4 * lq, result.Rows);
        Assert.Equal(0, result.MaxAbsError);
        Assert.Equal(0, result.RelativeError);
        Assert.Equal(0, result.LseMaxAbsError);

        // One wrong element in a checked block is found, with its size.
        int row = lq - 1;
        long idx = data.RowIndex(1, 3, row, 4, lq) + 5;
        o[idx] += 0.25f;
        var bad = ReferenceCheck.Run(data, layout, options.ResolveScale(8), causal, 0, o, lse, all, CancellationToken.None);
        Assert.Equal(0.25, bad.MaxAbsError, 6);
        Assert.True(bad.RelativeError > 0);
    }

    [Fact]
    public void Sampling_keeps_the_first_and_last_block_and_is_reproducible()
    {
        var a = ReferenceCheck.SampleBlocks(256, 8, 3);
        Assert.Equal(8, a.Length);
        Assert.Equal(0, a[0]);
        Assert.Equal(255, a[^1]);
        Assert.Equal(a, ReferenceCheck.SampleBlocks(256, 8, 3));
        Assert.Equal(Enumerable.Range(0, 5), ReferenceCheck.SampleBlocks(5, 8, 3));
    }
}
