namespace SparseNative.Kernels.Backward;

/// <summary>
/// How one worker's scratch is cut up for the backward pass; every piece starts on a 64-byte boundary. The key-block pass
/// uses two packed, transposed d × bs operands (Kᵀ and Vᵀ), a bs × bs tile (S becoming P; dS is computed in its slot of
/// the band, <see cref="BackwardBands"/>), two bs × d accumulators (dK and dV), the rows' base-2 log-sum-exp and D, a row
/// of ones (the "no rescale" factor of the P·V micro-kernel) and two zero-padded bs × d copies of a short last query
/// block; the query-block pass one accumulator (dQ), the ones and one padded copy of a short last key block.
/// </summary>
internal static class BackwardScratchLayout
{
    private static long Round(long floats) => (floats + 15) & ~15L;

    public static long PackedA(int bs, int d) => 0;
    public static long PackedB(int bs, int d) => PackedA(bs, d) + Round((long)d * bs);
    public static long Scores(int bs, int d) => PackedB(bs, d) + Round((long)d * bs);
    public static long AccumulatorA(int bs, int d) => Scores(bs, d) + Round((long)bs * bs);
    public static long AccumulatorB(int bs, int d) => AccumulatorA(bs, d) + Round((long)bs * d);
    public static long RowLse2(int bs, int d) => AccumulatorB(bs, d) + Round((long)bs * d);
    public static long RowDelta(int bs, int d) => RowLse2(bs, d) + Round(bs);
    public static long Ones(int bs, int d) => RowDelta(bs, d) + Round(bs);
    public static long PaddedA(int bs, int d) => Ones(bs, d) + Round(bs);
    public static long PaddedB(int bs, int d) => PaddedA(bs, d) + Round((long)bs * d);
    public static long TotalFloats(int bs, int d) => PaddedB(bs, d) + Round((long)bs * d);
}
