namespace SparseNative;

// Argument checks shared by the pattern builders. Every failure names the parameter and the value it got.
public static partial class BlockPatterns
{
    /// <summary>Blocks needed by <paramref name="length"/> tokens: ceil(length / blockSize), written so int.MaxValue does not overflow.</summary>
    private static int Blocks(int length, int blockSize) => (length - 1) / blockSize + 1;

    /// <summary>Checks a token length and the block size and returns the block count.</summary>
    private static int CheckedBlocks(int length, string lengthName, int blockSize)
    {
        BlockLayout.ValidateBlockSize(blockSize, nameof(blockSize));
        if (length <= 0)
            throw new ArgumentOutOfRangeException(lengthName, length, $"{lengthName} must be at least 1 token; got {length}.");
        return Blocks(length, blockSize);
    }

    private static void CheckAtLeast(int value, int minimum, string name)
    {
        if (value < minimum)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be at least {minimum}; got {value}.");
    }

    // A layout's columns live in one int[]; refuse up front (instead of failing deep inside with OutOfMemoryException)
    // when an upper bound on the active blocks already exceeds what an array can hold.
    private static void CheckFits(long activeBlocksBound, string name, int value)
    {
        if (activeBlocksBound > Array.MaxLength)
            throw new ArgumentOutOfRangeException(name, value,
                $"{name} = {value} gives a layout of up to {activeBlocksBound} active blocks, more than one array holds ({Array.MaxLength}); use a larger block size or a sparser pattern.");
    }

    /// <summary>Checks DeepSpeed-style global block ranges and returns them as [start, end) pairs (end = start + 1 when no ends are given).</summary>
    private static (int Start, int End)[] GlobalRanges(int[]? globalBlockIndices, int[]? globalBlockEndIndices)
    {
        int[] starts = globalBlockIndices ?? [0];
        if (globalBlockEndIndices is not null && globalBlockEndIndices.Length != starts.Length)
            throw new ArgumentException(
                $"globalBlockEndIndices has {globalBlockEndIndices.Length} entries but globalBlockIndices has {starts.Length}; they must pair up.",
                nameof(globalBlockEndIndices));
        var ranges = new (int, int)[starts.Length];
        for (int i = 0; i < starts.Length; i++)
        {
            if (starts[i] < 0)
                throw new ArgumentOutOfRangeException(nameof(globalBlockIndices), starts[i],
                    $"globalBlockIndices[{i}] = {starts[i]} is negative.");
            int end = globalBlockEndIndices is null ? (int)Math.Min(starts[i] + 1L, int.MaxValue) : globalBlockEndIndices[i];
            if (globalBlockEndIndices is not null && end <= starts[i])
                throw new ArgumentException(
                    $"globalBlockEndIndices[{i}] = {end} must be greater than globalBlockIndices[{i}] = {starts[i]}.",
                    nameof(globalBlockEndIndices));
            ranges[i] = (starts[i], end);
        }
        return ranges;
    }
}
