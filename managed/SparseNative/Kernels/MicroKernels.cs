using System.Runtime.CompilerServices;
using SparseNative.Kernels.Isa;

namespace SparseNative.Kernels;

// The tile bodies below are written out in full rather than looped over arrays: the JIT keeps
// named locals in registers, never array elements. Each tile is 4 rows × NV vectors of accumulators; NV = 4 needs
// 16 + 4 + 1 registers (AVX-512, NEON); NV = 3 needs 12 + 3 + 1, exactly the 16 of AVX2/SSE (12 independent FMA
// chains cover 2 FMA pipes × 4 cycles of latency with room; 4 × 2 = 8 chains would leave none).

/// <summary>
/// The two register-blocked GEMM micro-kernels of the fused kernel, generic over the ISA and written once:
/// scores Sᵀ = K·Qᵀ (broadcast a key element, FMA against a vector of queries) and O = O·α + P·V (broadcast a
/// probability, FMA against a vector of a value row). Both read K and V in place through a row stride, so Bshd
/// tensors and GQA-shared heads need no copy, and both write whole vectors to L1-resident scratch.
/// </summary>
internal static unsafe class MicroKernels<TIsa, TVec>
    where TIsa : struct, ISimdIsa<TVec>
    where TVec : unmanaged
{
    /// <summary>Rows of every tile: 4 keys (scores) or 4 queries (values), one broadcast each.</summary>
    public const int TileRows = 4;

    /// <summary>
    /// Vectors per row of the widest tile, which the loops below take first and then finish with 4 × 2 and 4 × 1
    /// tiles: 4 × NV accumulators + NV loaded vectors + 1 broadcast must fit the register file, so NV = 4 (21
    /// registers) with 32 registers and NV = 3 (16) with 16.
    /// </summary>
    // Forced inline: in the kernels' large bodies the JIT would otherwise call it, and then compile every tile size
    // into every instantiation instead of folding the choice to a constant.
    public static int TileVectors { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => TIsa.VectorRegisters >= 32 ? 4 : 3; }

    /// <summary>What the backends' <c>Details</c> report, made from the constants the loops use.</summary>
    public static string TileDescription => $"{TileRows}×{TileVectors}-register GEMM tiles";

    /// <summary>
    /// sT[j, i] = Σ_c k[j, c] · qT[c, i] for <paramref name="keys"/> (a multiple of 4) key rows and the first
    /// <paramref name="queries"/> (a multiple of the width) of the block's queries. qT is d × bq, sT is keys × bq (row stride bq).
    /// </summary>
    // Fully optimised from the first call: a hot loop at tier 0 would run ~10× slower until on-stack replacement.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Scores(float* k, long kStride, int keys, float* qT, int bq, int queries, int d, float* sT)
    {
        int w = TIsa.Width;
        for (int j = 0; j < keys; j += TileRows)
        {
            float* kj = k + j * kStride;
            float* sj = sT + (long)j * bq;
            int g = 0;
            if (TileVectors == 4)
                for (; g + 4 * w <= queries; g += 4 * w) Score4x4(kj, kStride, qT + g, bq, d, sj + g);
            else if (TileVectors == 3)
                for (; g + 3 * w <= queries; g += 3 * w) Score4x3(kj, kStride, qT + g, bq, d, sj + g);
            for (; g + 2 * w <= queries; g += 2 * w) Score4x2(kj, kStride, qT + g, bq, d, sj + g);
            for (; g < queries; g += w) Score4x1(kj, kStride, qT + g, bq, d, sj + g);
        }
    }

    /// <summary>
    /// o[i, :] = o[i, :] · alpha[i] + Σ_j pT[j, i] · v[j, :] for the first <paramref name="queries"/> (a multiple of 4)
    /// queries, <paramref name="keys"/> keys and d (a multiple of the width) columns. o is bq × d, pT is keys × bq.
    /// </summary>
    // Fully optimised from the first call: a hot loop at tier 0 would run ~10× slower until on-stack replacement.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AccumulateValues(float* pT, int bq, int queries, int keys, float* v, long vStride, float* o, int d, float* alpha) =>
        AccumulateValues<KeysMajor>(pT, bq, queries, keys, v, vStride, o, d, alpha);

    /// <summary>
    /// The same with the probabilities (or any left operand) in the order <typeparamref name="TOrder"/>: keys × queries as
    /// above (<see cref="KeysMajor"/>), or queries × keys (<see cref="QueriesMajor"/>: o += P · V for a row-major P, e.g.
    /// dQ = dS · K from the backward's query-major dS). The order is a type, so each instantiation is compiled on its own.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AccumulateValues<TOrder>(float* pT, int bq, int queries, int keys, float* v, long vStride, float* o, int d, float* alpha)
        where TOrder : struct, IOperandOrder
    {
        int w = TIsa.Width;
        for (int r = 0; r < queries; r += TileRows)
        {
            float* orow = o + (long)r * d;
            float* pr = pT + r * TOrder.RowStep(bq);
            int c = 0;
            if (TileVectors == 4)
                for (; c + 4 * w <= d; c += 4 * w) Pv4x4<TOrder>(pr, bq, keys, v + c, vStride, orow + c, d, alpha + r);
            else if (TileVectors == 3)
                for (; c + 3 * w <= d; c += 3 * w) Pv4x3<TOrder>(pr, bq, keys, v + c, vStride, orow + c, d, alpha + r);
            for (; c + 2 * w <= d; c += 2 * w) Pv4x2<TOrder>(pr, bq, keys, v + c, vStride, orow + c, d, alpha + r);
            for (; c < d; c += w) Pv4x1<TOrder>(pr, bq, keys, v + c, vStride, orow + c, d, alpha + r);
        }
    }

    /// <summary>sT[4 keys × 4 vectors of queries] = K rows · qT (one FMA per key, query vector and head-dim element).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Score4x4(float* k, long kStride, float* qT, int bq, int d, float* sT)
    {
        int w = TIsa.Width;
        TVec a00 = TIsa.Zero, a01 = TIsa.Zero, a02 = TIsa.Zero, a03 = TIsa.Zero, a10 = TIsa.Zero, a11 = TIsa.Zero, a12 = TIsa.Zero, a13 = TIsa.Zero, a20 = TIsa.Zero, a21 = TIsa.Zero, a22 = TIsa.Zero, a23 = TIsa.Zero, a30 = TIsa.Zero, a31 = TIsa.Zero, a32 = TIsa.Zero, a33 = TIsa.Zero;
        float* k0 = k, k1 = k + kStride, k2 = k + 2 * kStride, k3 = k + 3 * kStride;
        for (int c = 0; c < d; c++)
        {
            float* qc = qT + (long)c * bq;
            TVec q0 = TIsa.Load(qc);
            TVec q1 = TIsa.Load(qc + 1 * w);
            TVec q2 = TIsa.Load(qc + 2 * w);
            TVec q3 = TIsa.Load(qc + 3 * w);
            TVec b0 = TIsa.Broadcast(k0[c]);
            a00 = TIsa.MultiplyAdd(b0, q0, a00);
            a01 = TIsa.MultiplyAdd(b0, q1, a01);
            a02 = TIsa.MultiplyAdd(b0, q2, a02);
            a03 = TIsa.MultiplyAdd(b0, q3, a03);
            TVec b1 = TIsa.Broadcast(k1[c]);
            a10 = TIsa.MultiplyAdd(b1, q0, a10);
            a11 = TIsa.MultiplyAdd(b1, q1, a11);
            a12 = TIsa.MultiplyAdd(b1, q2, a12);
            a13 = TIsa.MultiplyAdd(b1, q3, a13);
            TVec b2 = TIsa.Broadcast(k2[c]);
            a20 = TIsa.MultiplyAdd(b2, q0, a20);
            a21 = TIsa.MultiplyAdd(b2, q1, a21);
            a22 = TIsa.MultiplyAdd(b2, q2, a22);
            a23 = TIsa.MultiplyAdd(b2, q3, a23);
            TVec b3 = TIsa.Broadcast(k3[c]);
            a30 = TIsa.MultiplyAdd(b3, q0, a30);
            a31 = TIsa.MultiplyAdd(b3, q1, a31);
            a32 = TIsa.MultiplyAdd(b3, q2, a32);
            a33 = TIsa.MultiplyAdd(b3, q3, a33);
        }
        TIsa.Store(sT + 0 * bq, a00);
        TIsa.Store(sT + 0 * bq + 1 * w, a01);
        TIsa.Store(sT + 0 * bq + 2 * w, a02);
        TIsa.Store(sT + 0 * bq + 3 * w, a03);
        TIsa.Store(sT + 1 * bq, a10);
        TIsa.Store(sT + 1 * bq + 1 * w, a11);
        TIsa.Store(sT + 1 * bq + 2 * w, a12);
        TIsa.Store(sT + 1 * bq + 3 * w, a13);
        TIsa.Store(sT + 2 * bq, a20);
        TIsa.Store(sT + 2 * bq + 1 * w, a21);
        TIsa.Store(sT + 2 * bq + 2 * w, a22);
        TIsa.Store(sT + 2 * bq + 3 * w, a23);
        TIsa.Store(sT + 3 * bq, a30);
        TIsa.Store(sT + 3 * bq + 1 * w, a31);
        TIsa.Store(sT + 3 * bq + 2 * w, a32);
        TIsa.Store(sT + 3 * bq + 3 * w, a33);
    }

    /// <summary>sT[4 keys × 3 vectors of queries] = K rows · qT (one FMA per key, query vector and head-dim element).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Score4x3(float* k, long kStride, float* qT, int bq, int d, float* sT)
    {
        int w = TIsa.Width;
        TVec a00 = TIsa.Zero, a01 = TIsa.Zero, a02 = TIsa.Zero, a10 = TIsa.Zero, a11 = TIsa.Zero, a12 = TIsa.Zero, a20 = TIsa.Zero, a21 = TIsa.Zero, a22 = TIsa.Zero, a30 = TIsa.Zero, a31 = TIsa.Zero, a32 = TIsa.Zero;
        float* k0 = k, k1 = k + kStride, k2 = k + 2 * kStride, k3 = k + 3 * kStride;
        for (int c = 0; c < d; c++)
        {
            float* qc = qT + (long)c * bq;
            TVec q0 = TIsa.Load(qc);
            TVec q1 = TIsa.Load(qc + 1 * w);
            TVec q2 = TIsa.Load(qc + 2 * w);
            TVec b0 = TIsa.Broadcast(k0[c]);
            a00 = TIsa.MultiplyAdd(b0, q0, a00);
            a01 = TIsa.MultiplyAdd(b0, q1, a01);
            a02 = TIsa.MultiplyAdd(b0, q2, a02);
            TVec b1 = TIsa.Broadcast(k1[c]);
            a10 = TIsa.MultiplyAdd(b1, q0, a10);
            a11 = TIsa.MultiplyAdd(b1, q1, a11);
            a12 = TIsa.MultiplyAdd(b1, q2, a12);
            TVec b2 = TIsa.Broadcast(k2[c]);
            a20 = TIsa.MultiplyAdd(b2, q0, a20);
            a21 = TIsa.MultiplyAdd(b2, q1, a21);
            a22 = TIsa.MultiplyAdd(b2, q2, a22);
            TVec b3 = TIsa.Broadcast(k3[c]);
            a30 = TIsa.MultiplyAdd(b3, q0, a30);
            a31 = TIsa.MultiplyAdd(b3, q1, a31);
            a32 = TIsa.MultiplyAdd(b3, q2, a32);
        }
        TIsa.Store(sT + 0 * bq, a00);
        TIsa.Store(sT + 0 * bq + 1 * w, a01);
        TIsa.Store(sT + 0 * bq + 2 * w, a02);
        TIsa.Store(sT + 1 * bq, a10);
        TIsa.Store(sT + 1 * bq + 1 * w, a11);
        TIsa.Store(sT + 1 * bq + 2 * w, a12);
        TIsa.Store(sT + 2 * bq, a20);
        TIsa.Store(sT + 2 * bq + 1 * w, a21);
        TIsa.Store(sT + 2 * bq + 2 * w, a22);
        TIsa.Store(sT + 3 * bq, a30);
        TIsa.Store(sT + 3 * bq + 1 * w, a31);
        TIsa.Store(sT + 3 * bq + 2 * w, a32);
    }

    /// <summary>sT[4 keys × 2 vectors of queries] = K rows · qT (one FMA per key, query vector and head-dim element).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Score4x2(float* k, long kStride, float* qT, int bq, int d, float* sT)
    {
        int w = TIsa.Width;
        TVec a00 = TIsa.Zero, a01 = TIsa.Zero, a10 = TIsa.Zero, a11 = TIsa.Zero, a20 = TIsa.Zero, a21 = TIsa.Zero, a30 = TIsa.Zero, a31 = TIsa.Zero;
        float* k0 = k, k1 = k + kStride, k2 = k + 2 * kStride, k3 = k + 3 * kStride;
        for (int c = 0; c < d; c++)
        {
            float* qc = qT + (long)c * bq;
            TVec q0 = TIsa.Load(qc);
            TVec q1 = TIsa.Load(qc + 1 * w);
            TVec b0 = TIsa.Broadcast(k0[c]);
            a00 = TIsa.MultiplyAdd(b0, q0, a00);
            a01 = TIsa.MultiplyAdd(b0, q1, a01);
            TVec b1 = TIsa.Broadcast(k1[c]);
            a10 = TIsa.MultiplyAdd(b1, q0, a10);
            a11 = TIsa.MultiplyAdd(b1, q1, a11);
            TVec b2 = TIsa.Broadcast(k2[c]);
            a20 = TIsa.MultiplyAdd(b2, q0, a20);
            a21 = TIsa.MultiplyAdd(b2, q1, a21);
            TVec b3 = TIsa.Broadcast(k3[c]);
            a30 = TIsa.MultiplyAdd(b3, q0, a30);
            a31 = TIsa.MultiplyAdd(b3, q1, a31);
        }
        TIsa.Store(sT + 0 * bq, a00);
        TIsa.Store(sT + 0 * bq + 1 * w, a01);
        TIsa.Store(sT + 1 * bq, a10);
        TIsa.Store(sT + 1 * bq + 1 * w, a11);
        TIsa.Store(sT + 2 * bq, a20);
        TIsa.Store(sT + 2 * bq + 1 * w, a21);
        TIsa.Store(sT + 3 * bq, a30);
        TIsa.Store(sT + 3 * bq + 1 * w, a31);
    }

    /// <summary>sT[4 keys × 1 vectors of queries] = K rows · qT (one FMA per key, query vector and head-dim element).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Score4x1(float* k, long kStride, float* qT, int bq, int d, float* sT)
    {
        int w = TIsa.Width;
        TVec a00 = TIsa.Zero, a10 = TIsa.Zero, a20 = TIsa.Zero, a30 = TIsa.Zero;
        float* k0 = k, k1 = k + kStride, k2 = k + 2 * kStride, k3 = k + 3 * kStride;
        for (int c = 0; c < d; c++)
        {
            float* qc = qT + (long)c * bq;
            TVec q0 = TIsa.Load(qc);
            TVec b0 = TIsa.Broadcast(k0[c]);
            a00 = TIsa.MultiplyAdd(b0, q0, a00);
            TVec b1 = TIsa.Broadcast(k1[c]);
            a10 = TIsa.MultiplyAdd(b1, q0, a10);
            TVec b2 = TIsa.Broadcast(k2[c]);
            a20 = TIsa.MultiplyAdd(b2, q0, a20);
            TVec b3 = TIsa.Broadcast(k3[c]);
            a30 = TIsa.MultiplyAdd(b3, q0, a30);
        }
        TIsa.Store(sT + 0 * bq, a00);
        TIsa.Store(sT + 1 * bq, a10);
        TIsa.Store(sT + 2 * bq, a20);
        TIsa.Store(sT + 3 * bq, a30);
    }

    /// <summary>o[4 queries × 4 vectors of d] = o · alpha + P · V, P read from the transposed probability tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Pv4x4<TOrder>(float* pT, int bq, int keys, float* v, long vStride, float* o, int d, float* alpha)
        where TOrder : struct, IOperandOrder
    {
        int w = TIsa.Width;
        TVec s0 = TIsa.Broadcast(alpha[0]);
        TVec s1 = TIsa.Broadcast(alpha[1]);
        TVec s2 = TIsa.Broadcast(alpha[2]);
        TVec s3 = TIsa.Broadcast(alpha[3]);
        TVec a00 = TIsa.Multiply(TIsa.Load(o + 0 * d), s0);
        TVec a01 = TIsa.Multiply(TIsa.Load(o + 0 * d + 1 * w), s0);
        TVec a02 = TIsa.Multiply(TIsa.Load(o + 0 * d + 2 * w), s0);
        TVec a03 = TIsa.Multiply(TIsa.Load(o + 0 * d + 3 * w), s0);
        TVec a10 = TIsa.Multiply(TIsa.Load(o + 1 * d), s1);
        TVec a11 = TIsa.Multiply(TIsa.Load(o + 1 * d + 1 * w), s1);
        TVec a12 = TIsa.Multiply(TIsa.Load(o + 1 * d + 2 * w), s1);
        TVec a13 = TIsa.Multiply(TIsa.Load(o + 1 * d + 3 * w), s1);
        TVec a20 = TIsa.Multiply(TIsa.Load(o + 2 * d), s2);
        TVec a21 = TIsa.Multiply(TIsa.Load(o + 2 * d + 1 * w), s2);
        TVec a22 = TIsa.Multiply(TIsa.Load(o + 2 * d + 2 * w), s2);
        TVec a23 = TIsa.Multiply(TIsa.Load(o + 2 * d + 3 * w), s2);
        TVec a30 = TIsa.Multiply(TIsa.Load(o + 3 * d), s3);
        TVec a31 = TIsa.Multiply(TIsa.Load(o + 3 * d + 1 * w), s3);
        TVec a32 = TIsa.Multiply(TIsa.Load(o + 3 * d + 2 * w), s3);
        TVec a33 = TIsa.Multiply(TIsa.Load(o + 3 * d + 3 * w), s3);
        for (int j = 0; j < keys; j++)
        {
            float* vj = v + j * vStride;
            float* pj = pT + j * TOrder.InnerStep(bq);
            TVec v0 = TIsa.Load(vj);
            TVec v1 = TIsa.Load(vj + 1 * w);
            TVec v2 = TIsa.Load(vj + 2 * w);
            TVec v3 = TIsa.Load(vj + 3 * w);
            TVec b0 = TIsa.Broadcast(pj[0]);
            a00 = TIsa.MultiplyAdd(b0, v0, a00);
            a01 = TIsa.MultiplyAdd(b0, v1, a01);
            a02 = TIsa.MultiplyAdd(b0, v2, a02);
            a03 = TIsa.MultiplyAdd(b0, v3, a03);
            TVec b1 = TIsa.Broadcast(pj[1 * TOrder.RowStep(bq)]);
            a10 = TIsa.MultiplyAdd(b1, v0, a10);
            a11 = TIsa.MultiplyAdd(b1, v1, a11);
            a12 = TIsa.MultiplyAdd(b1, v2, a12);
            a13 = TIsa.MultiplyAdd(b1, v3, a13);
            TVec b2 = TIsa.Broadcast(pj[2 * TOrder.RowStep(bq)]);
            a20 = TIsa.MultiplyAdd(b2, v0, a20);
            a21 = TIsa.MultiplyAdd(b2, v1, a21);
            a22 = TIsa.MultiplyAdd(b2, v2, a22);
            a23 = TIsa.MultiplyAdd(b2, v3, a23);
            TVec b3 = TIsa.Broadcast(pj[3 * TOrder.RowStep(bq)]);
            a30 = TIsa.MultiplyAdd(b3, v0, a30);
            a31 = TIsa.MultiplyAdd(b3, v1, a31);
            a32 = TIsa.MultiplyAdd(b3, v2, a32);
            a33 = TIsa.MultiplyAdd(b3, v3, a33);
        }
        TIsa.Store(o + 0 * d, a00);
        TIsa.Store(o + 0 * d + 1 * w, a01);
        TIsa.Store(o + 0 * d + 2 * w, a02);
        TIsa.Store(o + 0 * d + 3 * w, a03);
        TIsa.Store(o + 1 * d, a10);
        TIsa.Store(o + 1 * d + 1 * w, a11);
        TIsa.Store(o + 1 * d + 2 * w, a12);
        TIsa.Store(o + 1 * d + 3 * w, a13);
        TIsa.Store(o + 2 * d, a20);
        TIsa.Store(o + 2 * d + 1 * w, a21);
        TIsa.Store(o + 2 * d + 2 * w, a22);
        TIsa.Store(o + 2 * d + 3 * w, a23);
        TIsa.Store(o + 3 * d, a30);
        TIsa.Store(o + 3 * d + 1 * w, a31);
        TIsa.Store(o + 3 * d + 2 * w, a32);
        TIsa.Store(o + 3 * d + 3 * w, a33);
    }

    /// <summary>o[4 queries × 3 vectors of d] = o · alpha + P · V, P read from the transposed probability tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Pv4x3<TOrder>(float* pT, int bq, int keys, float* v, long vStride, float* o, int d, float* alpha)
        where TOrder : struct, IOperandOrder
    {
        int w = TIsa.Width;
        TVec s0 = TIsa.Broadcast(alpha[0]);
        TVec s1 = TIsa.Broadcast(alpha[1]);
        TVec s2 = TIsa.Broadcast(alpha[2]);
        TVec s3 = TIsa.Broadcast(alpha[3]);
        TVec a00 = TIsa.Multiply(TIsa.Load(o + 0 * d), s0);
        TVec a01 = TIsa.Multiply(TIsa.Load(o + 0 * d + 1 * w), s0);
        TVec a02 = TIsa.Multiply(TIsa.Load(o + 0 * d + 2 * w), s0);
        TVec a10 = TIsa.Multiply(TIsa.Load(o + 1 * d), s1);
        TVec a11 = TIsa.Multiply(TIsa.Load(o + 1 * d + 1 * w), s1);
        TVec a12 = TIsa.Multiply(TIsa.Load(o + 1 * d + 2 * w), s1);
        TVec a20 = TIsa.Multiply(TIsa.Load(o + 2 * d), s2);
        TVec a21 = TIsa.Multiply(TIsa.Load(o + 2 * d + 1 * w), s2);
        TVec a22 = TIsa.Multiply(TIsa.Load(o + 2 * d + 2 * w), s2);
        TVec a30 = TIsa.Multiply(TIsa.Load(o + 3 * d), s3);
        TVec a31 = TIsa.Multiply(TIsa.Load(o + 3 * d + 1 * w), s3);
        TVec a32 = TIsa.Multiply(TIsa.Load(o + 3 * d + 2 * w), s3);
        for (int j = 0; j < keys; j++)
        {
            float* vj = v + j * vStride;
            float* pj = pT + j * TOrder.InnerStep(bq);
            TVec v0 = TIsa.Load(vj);
            TVec v1 = TIsa.Load(vj + 1 * w);
            TVec v2 = TIsa.Load(vj + 2 * w);
            TVec b0 = TIsa.Broadcast(pj[0]);
            a00 = TIsa.MultiplyAdd(b0, v0, a00);
            a01 = TIsa.MultiplyAdd(b0, v1, a01);
            a02 = TIsa.MultiplyAdd(b0, v2, a02);
            TVec b1 = TIsa.Broadcast(pj[1 * TOrder.RowStep(bq)]);
            a10 = TIsa.MultiplyAdd(b1, v0, a10);
            a11 = TIsa.MultiplyAdd(b1, v1, a11);
            a12 = TIsa.MultiplyAdd(b1, v2, a12);
            TVec b2 = TIsa.Broadcast(pj[2 * TOrder.RowStep(bq)]);
            a20 = TIsa.MultiplyAdd(b2, v0, a20);
            a21 = TIsa.MultiplyAdd(b2, v1, a21);
            a22 = TIsa.MultiplyAdd(b2, v2, a22);
            TVec b3 = TIsa.Broadcast(pj[3 * TOrder.RowStep(bq)]);
            a30 = TIsa.MultiplyAdd(b3, v0, a30);
            a31 = TIsa.MultiplyAdd(b3, v1, a31);
            a32 = TIsa.MultiplyAdd(b3, v2, a32);
        }
        TIsa.Store(o + 0 * d, a00);
        TIsa.Store(o + 0 * d + 1 * w, a01);
        TIsa.Store(o + 0 * d + 2 * w, a02);
        TIsa.Store(o + 1 * d, a10);
        TIsa.Store(o + 1 * d + 1 * w, a11);
        TIsa.Store(o + 1 * d + 2 * w, a12);
        TIsa.Store(o + 2 * d, a20);
        TIsa.Store(o + 2 * d + 1 * w, a21);
        TIsa.Store(o + 2 * d + 2 * w, a22);
        TIsa.Store(o + 3 * d, a30);
        TIsa.Store(o + 3 * d + 1 * w, a31);
        TIsa.Store(o + 3 * d + 2 * w, a32);
    }

    /// <summary>o[4 queries × 2 vectors of d] = o · alpha + P · V, P read from the transposed probability tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Pv4x2<TOrder>(float* pT, int bq, int keys, float* v, long vStride, float* o, int d, float* alpha)
        where TOrder : struct, IOperandOrder
    {
        int w = TIsa.Width;
        TVec s0 = TIsa.Broadcast(alpha[0]);
        TVec s1 = TIsa.Broadcast(alpha[1]);
        TVec s2 = TIsa.Broadcast(alpha[2]);
        TVec s3 = TIsa.Broadcast(alpha[3]);
        TVec a00 = TIsa.Multiply(TIsa.Load(o + 0 * d), s0);
        TVec a01 = TIsa.Multiply(TIsa.Load(o + 0 * d + 1 * w), s0);
        TVec a10 = TIsa.Multiply(TIsa.Load(o + 1 * d), s1);
        TVec a11 = TIsa.Multiply(TIsa.Load(o + 1 * d + 1 * w), s1);
        TVec a20 = TIsa.Multiply(TIsa.Load(o + 2 * d), s2);
        TVec a21 = TIsa.Multiply(TIsa.Load(o + 2 * d + 1 * w), s2);
        TVec a30 = TIsa.Multiply(TIsa.Load(o + 3 * d), s3);
        TVec a31 = TIsa.Multiply(TIsa.Load(o + 3 * d + 1 * w), s3);
        for (int j = 0; j < keys; j++)
        {
            float* vj = v + j * vStride;
            float* pj = pT + j * TOrder.InnerStep(bq);
            TVec v0 = TIsa.Load(vj);
            TVec v1 = TIsa.Load(vj + 1 * w);
            TVec b0 = TIsa.Broadcast(pj[0]);
            a00 = TIsa.MultiplyAdd(b0, v0, a00);
            a01 = TIsa.MultiplyAdd(b0, v1, a01);
            TVec b1 = TIsa.Broadcast(pj[1 * TOrder.RowStep(bq)]);
            a10 = TIsa.MultiplyAdd(b1, v0, a10);
            a11 = TIsa.MultiplyAdd(b1, v1, a11);
            TVec b2 = TIsa.Broadcast(pj[2 * TOrder.RowStep(bq)]);
            a20 = TIsa.MultiplyAdd(b2, v0, a20);
            a21 = TIsa.MultiplyAdd(b2, v1, a21);
            TVec b3 = TIsa.Broadcast(pj[3 * TOrder.RowStep(bq)]);
            a30 = TIsa.MultiplyAdd(b3, v0, a30);
            a31 = TIsa.MultiplyAdd(b3, v1, a31);
        }
        TIsa.Store(o + 0 * d, a00);
        TIsa.Store(o + 0 * d + 1 * w, a01);
        TIsa.Store(o + 1 * d, a10);
        TIsa.Store(o + 1 * d + 1 * w, a11);
        TIsa.Store(o + 2 * d, a20);
        TIsa.Store(o + 2 * d + 1 * w, a21);
        TIsa.Store(o + 3 * d, a30);
        TIsa.Store(o + 3 * d + 1 * w, a31);
    }

    /// <summary>o[4 queries × 1 vectors of d] = o · alpha + P · V, P read from the transposed probability tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Pv4x1<TOrder>(float* pT, int bq, int keys, float* v, long vStride, float* o, int d, float* alpha)
        where TOrder : struct, IOperandOrder
    {
        int w = TIsa.Width;
        TVec s0 = TIsa.Broadcast(alpha[0]);
        TVec s1 = TIsa.Broadcast(alpha[1]);
        TVec s2 = TIsa.Broadcast(alpha[2]);
        TVec s3 = TIsa.Broadcast(alpha[3]);
        TVec a00 = TIsa.Multiply(TIsa.Load(o + 0 * d), s0);
        TVec a10 = TIsa.Multiply(TIsa.Load(o + 1 * d), s1);
        TVec a20 = TIsa.Multiply(TIsa.Load(o + 2 * d), s2);
        TVec a30 = TIsa.Multiply(TIsa.Load(o + 3 * d), s3);
        for (int j = 0; j < keys; j++)
        {
            float* vj = v + j * vStride;
            float* pj = pT + j * TOrder.InnerStep(bq);
            TVec v0 = TIsa.Load(vj);
            TVec b0 = TIsa.Broadcast(pj[0]);
            a00 = TIsa.MultiplyAdd(b0, v0, a00);
            TVec b1 = TIsa.Broadcast(pj[1 * TOrder.RowStep(bq)]);
            a10 = TIsa.MultiplyAdd(b1, v0, a10);
            TVec b2 = TIsa.Broadcast(pj[2 * TOrder.RowStep(bq)]);
            a20 = TIsa.MultiplyAdd(b2, v0, a20);
            TVec b3 = TIsa.Broadcast(pj[3 * TOrder.RowStep(bq)]);
            a30 = TIsa.MultiplyAdd(b3, v0, a30);
        }
        TIsa.Store(o + 0 * d, a00);
        TIsa.Store(o + 1 * d, a10);
        TIsa.Store(o + 2 * d, a20);
        TIsa.Store(o + 3 * d, a30);
    }
}

/// <summary>Where the P·V micro-kernel finds element (key j, query r) of its left operand, whose leading dimension is ld.</summary>
internal interface IOperandOrder
{
    /// <summary>Floats from key j to key j + 1.</summary>
    static abstract int InnerStep(int ld);

    /// <summary>Floats from query r to query r + 1.</summary>
    static abstract int RowStep(int ld);
}

/// <summary>Keys × queries (pT[j·ld + r]): the forward's transposed probability tile.</summary>
internal struct KeysMajor : IOperandOrder
{
    public static int InnerStep(int ld) => ld;
    public static int RowStep(int ld) => 1;
}

/// <summary>Queries × keys (p[r·ld + j]): a row-major tile, e.g. the backward's dS.</summary>
internal struct QueriesMajor : IOperandOrder
{
    public static int InnerStep(int ld) => 1;
    public static int RowStep(int ld) => ld;
}
