using System.Runtime.CompilerServices;
using SparseNative.Kernels.Isa;

namespace SparseNative.Kernels.Backward;

/// <summary>
/// The element-wise steps of the backward pass between its GEMMs, written once for every ISA: recomputing
/// P = 2^(S − lse₂) from base-2 scores and dS = P ∘ (dP − D), in the two tile orientations the passes use, and the row
/// statistic D = rowsum(dO ∘ O). Masked scores are −∞ and a row without keys has lse₂ = +∞, so P is exactly 0 there.
/// </summary>
internal static unsafe class BackwardElementwise<TIsa, TVec>
    where TIsa : struct, ISimdIsa<TVec>
    where TVec : unmanaged
{
    /// <summary>Query-major tile (rows are queries): s[i, j] ← 2^(s[i, j] − lse2[i]) for i &lt; rows, j &lt; columns (whole vectors).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ProbabilitiesByRow(float* s, int stride, int rows, int columns, float* lse2)
    {
        int w = TIsa.Width;
        for (int i = 0; i < rows; i++)
        {
            float* si = s + (long)i * stride;
            TVec l = TIsa.Broadcast(lse2[i]);
            for (int j = 0; j < columns; j += w) TIsa.Store(si + j, Exp2Polynomial.Exp2<TIsa, TVec>(TIsa.Subtract(TIsa.Load(si + j), l)));
        }
    }

    /// <summary>Query-major tiles: dp[i, j] ← p[i, j] · (dp[i, j] − delta[i]) (dp becomes dS).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ScoreGradientsByRow(float* p, float* dp, int stride, int rows, int columns, float* delta)
    {
        int w = TIsa.Width;
        for (int i = 0; i < rows; i++)
        {
            float* pi = p + (long)i * stride, dpi = dp + (long)i * stride;
            TVec di = TIsa.Broadcast(delta[i]);
            for (int j = 0; j < columns; j += w)
                TIsa.Store(dpi + j, TIsa.Multiply(TIsa.Load(pi + j), TIsa.Subtract(TIsa.Load(dpi + j), di)));
        }
    }

    /// <summary>
    /// Key-major tiles (rows are keys, columns queries): dpT[j, i] ← 2^(sT[j, i] − lse2[i]) · (dpT[j, i] − delta[i]),
    /// P recomputed and used at once, for j &lt; rows and i &lt; columns (whole vectors).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ScoreGradientsByColumn(float* sT, float* dpT, int stride, int rows, int columns, float* lse2, float* delta)
    {
        int w = TIsa.Width;
        for (int g = 0; g < columns; g += w)
        {
            TVec l = TIsa.Load(lse2 + g), di = TIsa.Load(delta + g);
            for (int j = 0; j < rows; j++)
            {
                float* s = sT + (long)j * stride + g, dp = dpT + (long)j * stride + g;
                TVec p = Exp2Polynomial.Exp2<TIsa, TVec>(TIsa.Subtract(TIsa.Load(s), l));
                TIsa.Store(dp, TIsa.Multiply(p, TIsa.Subtract(TIsa.Load(dp), di)));
            }
        }
    }

    /// <summary>Σ_c a[c] · b[c] for d a multiple of the width, lanes summed in a fixed order.</summary>
    public static float Dot(float* a, float* b, int d)
    {
        int w = TIsa.Width;
        TVec acc = TIsa.Zero;
        for (int c = 0; c < d; c += w) acc = TIsa.MultiplyAdd(TIsa.Load(a + c), TIsa.Load(b + c), acc);
        float* lanes = stackalloc float[w];
        TIsa.Store(lanes, acc);
        float sum = 0;
        for (int i = 0; i < w; i++) sum += lanes[i];
        return sum;
    }

    /// <summary>dst[r, :] = src[r, :] · factor for r &lt; rows: accumulator rows to a tensor (the gradient's scale applied once).</summary>
    public static void StoreRowsScaled(float* src, int d, int rows, float factor, float* dst, long dstStride)
    {
        int w = TIsa.Width;
        TVec f = TIsa.Broadcast(factor);
        for (int r = 0; r < rows; r++)
        {
            float* s = src + (long)r * d, t = dst + r * dstStride;
            for (int c = 0; c < d; c += w) TIsa.Store(t + c, TIsa.Multiply(TIsa.Load(s + c), f));
        }
    }
}
