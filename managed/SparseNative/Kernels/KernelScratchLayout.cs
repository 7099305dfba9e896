namespace SparseNative.Kernels;

/// <summary>How one worker's scratch is cut up; every piece starts on a 64-byte boundary.</summary>
internal static class KernelScratchLayout
{
    private static long Round(long floats) => (floats + 15) & ~15L;

    public static long QueryT(int bs, int d) => 0;
    public static long Scores(int bs, int d) => QueryT(bs, d) + Round((long)d * bs);
    public static long Accumulators(int bs, int d) => Scores(bs, d) + Round((long)bs * bs);
    public static long RowMax(int bs, int d) => Accumulators(bs, d) + Round((long)bs * d);
    public static long RowSum(int bs, int d) => RowMax(bs, d) + Round(bs);
    public static long Alpha(int bs, int d) => RowSum(bs, d) + Round(bs);
    public static long KeyTail(int bs, int d) => Alpha(bs, d) + Round(bs);
    public static long ValueTail(int bs, int d) => KeyTail(bs, d) + Round((long)bs * d);
    public static long TotalFloats(int bs, int d) => ValueTail(bs, d) + Round((long)bs * d);
}
