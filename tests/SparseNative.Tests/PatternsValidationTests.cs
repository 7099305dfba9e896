using Xunit;

namespace SparseNative.Tests;

/// <summary>Every builder rejects bad parameters with an ArgumentException naming the parameter and the value.</summary>
public class PatternsValidationTests
{
    // Each builder with one bad argument, the parameter name expected and the value the message must quote.
    public static TheoryData<string, string, string> Cases() => new()
    {
        { "Dense.queryLength", "queryLength", "0" }, { "Dense.keyLength", "keyLength", "-5" }, { "Dense.blockSize", "blockSize", "48" },
        { "Dense.huge", "queryLength", "2147483647" },
        { "Causal.queryLength", "queryLength", "-1" }, { "Causal.keyLength", "keyLength", "0" }, { "Causal.blockSize", "blockSize", "8" },
        { "LocalWindow.sequenceLength", "sequenceLength", "0" }, { "LocalWindow.windowBlocks", "windowBlocks", "-1" },
        { "LocalWindow.blockSize", "blockSize", "256" },
        { "BlockDiagonal.sequenceLength", "sequenceLength", "-7" }, { "BlockDiagonal.blockSize", "blockSize", "0" },
        { "Dilated.spanBlocks", "spanBlocks", "-2" }, { "Dilated.dilation", "dilation", "0" }, { "Dilated.sequenceLength", "sequenceLength", "0" },
        { "Strided.localBlocks", "localBlocks", "-1" }, { "Strided.verticalStride", "verticalStride", "0" },
        { "Strided.numLayouts", "numLayouts", "0" }, { "Strided.blockSize", "blockSize", "100" }, { "Phi3Small.sequenceLength", "sequenceLength", "0" },
        { "Fixed.sequenceLength", "sequenceLength", "0" }, { "Fixed.blockSize", "blockSize", "17" },
        { "Variable.sequenceLength", "sequenceLength", "-3" }, { "Variable.localWindowBlocks", "localWindowBlocks", "-4" },
        { "BigBird.sequenceLength", "sequenceLength", "0" }, { "BigBird.blockSize", "blockSize", "1" },
        { "BSLongformer.sequenceLength", "sequenceLength", "0" }, { "BSLongformer.globalBlockIndices", "globalBlockIndices", "-9" },
    };

    private static void Build(string which)
    {
        _ = which switch
        {
            "Dense.queryLength" => BlockPatterns.Dense(0, 16),
            "Dense.keyLength" => BlockPatterns.Dense(10, 16, -5),
            "Dense.blockSize" => BlockPatterns.Dense(10, 48),
            "Dense.huge" => BlockPatterns.Dense(int.MaxValue, 16),
            "Causal.queryLength" => BlockPatterns.Causal(-1, 16),
            "Causal.keyLength" => BlockPatterns.Causal(10, 16, 0),
            "Causal.blockSize" => BlockPatterns.Causal(10, 8),
            "LocalWindow.sequenceLength" => BlockPatterns.LocalWindow(0, 16, 1),
            "LocalWindow.windowBlocks" => BlockPatterns.LocalWindow(100, 16, -1),
            "LocalWindow.blockSize" => BlockPatterns.LocalWindow(100, 256, 1),
            "BlockDiagonal.sequenceLength" => BlockPatterns.BlockDiagonal(-7, 16),
            "BlockDiagonal.blockSize" => BlockPatterns.BlockDiagonal(100, 0),
            "Dilated.spanBlocks" => BlockPatterns.Dilated(100, 16, -2, 1),
            "Dilated.dilation" => BlockPatterns.Dilated(100, 16, 2, 0),
            "Dilated.sequenceLength" => BlockPatterns.Dilated(0, 16, 2, 1),
            "Strided.localBlocks" => BlockPatterns.Strided(100, 16, -1, 8),
            "Strided.verticalStride" => BlockPatterns.Strided(100, 16, 4, 0),
            "Strided.numLayouts" => BlockPatterns.Strided(100, 16, 4, 8, 0),
            "Strided.blockSize" => BlockPatterns.Strided(100, 100, 4, 8),
            "Phi3Small.sequenceLength" => BlockPatterns.Phi3Small(0),
            "Fixed.sequenceLength" => BlockPatterns.Fixed(0, 16),
            "Fixed.blockSize" => BlockPatterns.Fixed(100, 17),
            "Variable.sequenceLength" => BlockPatterns.Variable(-3, 16),
            "Variable.localWindowBlocks" => BlockPatterns.Variable(100, 16, localWindowBlocks: [2, -4]),
            "BigBird.sequenceLength" => BlockPatterns.BigBird(0, 16),
            "BigBird.blockSize" => BlockPatterns.BigBird(100, 1),
            "BSLongformer.sequenceLength" => BlockPatterns.BSLongformer(0, 16),
            "BSLongformer.globalBlockIndices" => BlockPatterns.BSLongformer(100, 16, globalBlockIndices: [0, -9]),
            _ => throw new ArgumentException($"unknown case {which}"),
        };
    }

    [Theory, MemberData(nameof(Cases))]
    public void Bad_parameters_are_named_with_their_value(string which, string param, string value)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => Build(which));
        Assert.Equal(param, ex.ParamName);
        Assert.Contains(value, ex.Message);
    }

    [Fact]
    public void Extreme_but_valid_parameters_build()
    {
        // Windows, spans and strides far beyond the sequence are clipped, never overflow.
        Assert.Equal(BlockPatterns.Dense(100, 16), BlockPatterns.LocalWindow(100, 16, int.MaxValue));
        Assert.Equal(BlockPatterns.Causal(100, 16), BlockPatterns.LocalWindow(100, 16, int.MaxValue, causal: true));
        Assert.Equal(BlockPatterns.BlockDiagonal(100, 16), BlockPatterns.Dilated(100, 16, int.MaxValue, int.MaxValue));
        Assert.Equal(BlockPatterns.Causal(100, 16), BlockPatterns.Strided(100, 16, int.MaxValue, int.MaxValue));
        Assert.Equal(7, BlockPatterns.BSLongformer(100, 16, int.MaxValue, [int.MaxValue]).QueryBlocks);
        var oneBlock = BlockPatterns.BlockDiagonal(int.MaxValue, 128);   // 16,777,216 blocks, one each
        Assert.Equal(16_777_216, oneBlock.QueryBlocks);
        Assert.Equal(16_777_216, oneBlock.ActiveBlocks);
    }

    // Counts whose products overflow an int (row offsets = lists × (query blocks + 1), the lcm of two list counts) are
    // ArgumentExceptions naming the count, not an OverflowException or IndexOutOfRangeException from deep inside.
    public static TheoryData<string, string> Overflows() => new()
    {
        { "BigBird.heads", "heads" }, { "Variable.heads", "heads" }, { "Strided.numLayouts", "numLayouts" },
        { "FromPredicate", "layoutCount" }, { "Union", "other" },
    };

    [Theory, MemberData(nameof(Overflows))]
    public void Counts_whose_products_overflow_name_the_count(string builder, string param)
    {
        const int huge = 1_500_000_000;
        Action build = builder switch
        {
            "BigBird.heads" => () => BlockPatterns.BigBird(16, 16, numRandomBlocks: 1, numGlobalBlocks: 0, heads: huge),
            "Variable.heads" => () => BlockPatterns.Variable(16, 16, numRandomBlocks: 1, heads: huge),
            "Strided.numLayouts" => () => BlockPatterns.Strided(16, 16, 1, 1, numLayouts: huge),
            "FromPredicate" => () => BlockLayout.FromPredicate(16, 65536, 1, 65536, (_, _, _) => true),
            _ => () => BlockLayout.FromPredicate(16, 1, 1, 65537, (_, _, _) => true)
                .Union(BlockLayout.FromPredicate(16, 1, 1, 65539, (_, _, _) => true)),
        };
        var ex = Assert.ThrowsAny<ArgumentException>(build);
        Assert.Equal(param, ex.ParamName);
    }
}
