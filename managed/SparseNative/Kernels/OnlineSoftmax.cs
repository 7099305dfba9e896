using System.Runtime.CompilerServices;
using SparseNative.Kernels.Isa;

namespace SparseNative.Kernels;

/// <summary>
/// The online-softmax bookkeeping of one key block, written once for every ISA. Scores are in base-2 units (the query
/// block was scaled by scale·log2 e), stored transposed (keys × queries) so that each query's running max, sum and
/// rescale factor are one lane of a vector and nothing is reduced horizontally.
/// </summary>
internal static unsafe class OnlineSoftmax<TIsa, TVec>
    where TIsa : struct, ISimdIsa<TVec>
    where TVec : unmanaged
{
    /// <summary>
    /// The running max before any key: −∞, so that every finite score, however negative, counts as a key (a finite
    /// sentinel such as −1e30 would make a row whose scores all lie below it look empty). A query whose max is still −∞
    /// at the end saw no key.
    /// </summary>
    public const float MaxSentinel = float.NegativeInfinity;

    /// <summary>
    /// What the exponents subtract instead of a −∞ max (a column with no key yet): the lowest finite float, so that
    /// 2^(−∞ − shift) is 2^−∞ = 0 rather than 2^NaN. A finite max is its own shift.
    /// </summary>
    private const float LowestShift = -float.MaxValue;

    /// <summary>
    /// Replaces scores sT (keys × bq, masked entries −∞) by 2^(s − newMax), updates the running max m and sum l, and
    /// writes alpha = 2^(oldMax − newMax), by which the caller rescales the output accumulators. Only the first
    /// <paramref name="queries"/> (a multiple of the width) of the bq columns are touched.
    /// </summary>
    // Fully optimised from the first call: a hot loop at tier 0 would run ~10× slower until on-stack replacement.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Update(float* sT, int keys, int bq, int queries, float* m, float* l, float* alpha)
    {
        int w = TIsa.Width;
        for (int g = 0; g < queries; g += w)
        {
            TVec oldMax = TIsa.Load(m + g);
            TVec max0 = oldMax, max1 = oldMax;
            float* s = sT + g;
            int j = 0;
            for (; j + 2 <= keys; j += 2)
            {
                max0 = TIsa.Max(max0, TIsa.Load(s + (long)j * bq));
                max1 = TIsa.Max(max1, TIsa.Load(s + (long)(j + 1) * bq));
            }
            if (j < keys) max0 = TIsa.Max(max0, TIsa.Load(s + (long)j * bq));
            TVec newMax = TIsa.Max(max0, max1);
            TVec shift = TIsa.Max(newMax, TIsa.Broadcast(LowestShift));
            TVec a = Exp2Polynomial.Exp2<TIsa, TVec>(TIsa.Subtract(oldMax, shift));
            TIsa.Store(alpha + g, a);
            TIsa.Store(m + g, newMax);

            TVec sum0 = TIsa.Zero, sum1 = TIsa.Zero;
            for (j = 0; j + 2 <= keys; j += 2)
            {
                float* s0 = s + (long)j * bq, s1 = s0 + bq;
                TVec p0 = Exp2Polynomial.Exp2<TIsa, TVec>(TIsa.Subtract(TIsa.Load(s0), shift));
                TVec p1 = Exp2Polynomial.Exp2<TIsa, TVec>(TIsa.Subtract(TIsa.Load(s1), shift));
                TIsa.Store(s0, p0);
                TIsa.Store(s1, p1);
                sum0 = TIsa.Add(sum0, p0);
                sum1 = TIsa.Add(sum1, p1);
            }
            if (j < keys)
            {
                float* s0 = s + (long)j * bq;
                TVec p0 = Exp2Polynomial.Exp2<TIsa, TVec>(TIsa.Subtract(TIsa.Load(s0), shift));
                TIsa.Store(s0, p0);
                sum0 = TIsa.Add(sum0, p0);
            }
            TIsa.Store(l + g, TIsa.MultiplyAdd(TIsa.Load(l + g), a, TIsa.Add(sum0, sum1)));
        }
    }
}
