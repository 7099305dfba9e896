using System.Runtime.CompilerServices;
using SparseNative.Elements;
using SparseNative.Kernels.Isa;

namespace SparseNative.Kernels;

/// <summary>
/// The fused forward pass of one work item — one query block of one (batch, head) — written once and compiled by the
/// JIT for each ISA struct. Per item: pack Qᵀ scaled by scale·log2 e; for each active key block, Sᵀ = K·Qᵀ, a token mask
/// only if the block needs one, the online-softmax update, O = O·α + P·V; finally O / l and lse = m·ln 2 + ln l.
/// The element types are type parameters of <see cref="Process"/>: Q is widened as it is packed, a float16 or bfloat16
/// K/V block is widened into the scratch where a short float32 block is padded, and O is rounded once as it is stored;
/// everything between is float32.
/// </summary>
internal static unsafe class FusedBlockKernel<TIsa, TVec>
    where TIsa : struct, ISimdIsa<TVec>
    where TVec : unmanaged
{
    private const double Ln2 = 0.69314718055994530942;

    /// <summary>How a key block meets the token-level rules for this query block.</summary>
    internal enum BlockKind { Full, Partial, Masked }

    // Fully optimised from the first call: a hot loop at tier 0 would run ~10× slower until on-stack replacement.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Process<TQ, TKV>(KernelJob job, int item, float* scratch)
        where TQ : struct, ITensorElement
        where TKV : struct, ITensorElement
    {
        ref readonly var g = ref job.Geometry;
        var s = g.Shape;
        int bs = g.BlockSize, d = s.HeadDim;
        int qb = item % g.QueryBlocks, bh = item / g.QueryBlocks;
        int h = bh % s.QueryHeads, b = bh / s.QueryHeads, kvh = h / s.GroupSize;
        int qStart = qb * bs, qValid = Math.Min(bs, s.QueryLength - qStart);

        long qStride = g.Queries.RowStride, kvStride = g.Keys.RowStride;
        long qOffset = g.Queries.Row(b, h, qStart);
        int keyLength = job.KeyLength(b);
        long causalOffset = job.CausalOffset(b);

        float* qT = scratch + KernelScratchLayout.QueryT(bs, d);
        float* sT = scratch + KernelScratchLayout.Scores(bs, d);
        float* acc = scratch + KernelScratchLayout.Accumulators(bs, d);
        float* m = scratch + KernelScratchLayout.RowMax(bs, d);
        float* l = scratch + KernelScratchLayout.RowSum(bs, d);
        float* alpha = scratch + KernelScratchLayout.Alpha(bs, d);

        // A short last block (or a decode step) computes only the query columns it has, rounded up to whole vectors
        // for the score/softmax passes and to whole 4-row tiles for P·V.
        int w = TIsa.Width;
        int scoreColumns = (qValid + w - 1) / w * w, valueRows = (qValid + 3) / 4 * 4;

        PackQueryTransposed<TQ>((byte*)job.Q + qOffset * TQ.Size, qStride, qValid, bs, d, job.ScaleLog2, qT);
        new Span<float>(acc, bs * d).Clear();
        new Span<float>(m, bs).Fill(OnlineSoftmax<TIsa, TVec>.MaxSentinel);
        new Span<float>(l, bs).Clear();

        int querySegment = 0;
        bool queriesUniform = job.SegQ != null && IsUniform(job.SegQ + (long)b * s.QueryLength + qStart, qValid, out querySegment);
        foreach (int kb in job.Layout.Row(job.Layout.ListForHead(h), qb))
        {
            int kStart = kb * bs, kValid = Math.Min(bs, keyLength - kStart);
            // Columns ascend: once a block lies past the sequence or wholly above the causal diagonal, so do all later ones.
            if (kValid <= 0 || (g.Causal && kStart > qStart + qValid - 1 + causalOffset)) break;
            var kind = Classify(job, b, qStart, kStart, kValid, bs, queriesUniform, querySegment);
            if (kind == BlockKind.Masked) continue;

            // The block's rows lie kvStride apart wherever the block is (a plain tensor, a preallocated cache, a page).
            long blockOffset = job.KeyRow(b, kvh, kStart);
            byte* kRows = (byte*)job.K + blockOffset * TKV.Size, vRows = (byte*)job.V + blockOffset * TKV.Size;
            float* kBlock = (float*)kRows, vBlock = (float*)vRows;
            long kStride = kvStride;
            if (kValid < bs || TKV.Type != ElementType.Float32)
            {
                // The sequence's last key block, or a half-precision one: copy it into zero-padded float32 scratch so the
                // tiles never read past the tensor and always read float32.
                float* kPad = scratch + KernelScratchLayout.KeyTail(bs, d), vPad = scratch + KernelScratchLayout.ValueTail(bs, d);
                CopyRowsPadded<TKV>(kRows, kvStride, kValid, bs, d, kPad);
                CopyRowsPadded<TKV>(vRows, kvStride, kValid, bs, d, vPad);
                kBlock = kPad; vBlock = vPad; kStride = d;
            }

            MicroKernels<TIsa, TVec>.Scores(kBlock, kStride, bs, qT, bs, scoreColumns, d, sT);
            if (kind == BlockKind.Partial) ApplyTokenMask(job, b, qStart, qValid, kStart, kValid, bs, sT);
            OnlineSoftmax<TIsa, TVec>.Update(sT, bs, bs, scoreColumns, m, l, alpha);
            MicroKernels<TIsa, TVec>.AccumulateValues(sT, bs, valueRows, bs, vBlock, kStride, acc, d, alpha);
        }

        // The key tail is free by now: it holds an output row on its way to a half-precision tensor.
        WriteOutput<TQ>(job, b, h, qStart, qValid, d, acc, m, l, (byte*)job.O + qOffset * TQ.Size, qStride,
            scratch + KernelScratchLayout.KeyTail(bs, d));
    }

    /// <summary>qT[c, r] = q[r, c] · scale·log2 e for the valid rows; rows past the sequence are 0.</summary>
    internal static void PackQueryTransposed(float* q, long qStride, int qValid, int bs, int d, float scale, float* qT) =>
        PackQueryTransposed<FloatElement>(q, qStride, qValid, bs, d, scale, qT);

    /// <summary><see cref="PackQueryTransposed(float*, long, int, int, int, float, float*)"/> from elements of <typeparamref name="T"/>, widened exactly.</summary>
    internal static void PackQueryTransposed<T>(void* q, long qStride, int qValid, int bs, int d, float scale, float* qT)
        where T : struct, ITensorElement
    {
        for (int r = 0; r < qValid; r++)
        {
            long row = r * qStride;
            for (int c = 0; c < d; c++) qT[(long)c * bs + r] = T.Read(q, row + c) * scale;
        }
        if (qValid < bs)
            for (int c = 0; c < d; c++) new Span<float>(qT + (long)c * bs + qValid, bs - qValid).Clear();
    }

    internal static void CopyRowsPadded(float* src, long srcStride, int rows, int bs, int d, float* dst) =>
        CopyRowsPadded<FloatElement>(src, srcStride, rows, bs, d, dst);

    /// <summary>Rows of <typeparamref name="T"/> widened into <paramref name="bs"/> rows of d floats, those past <paramref name="rows"/> zero.</summary>
    internal static void CopyRowsPadded<T>(void* src, long srcStride, int rows, int bs, int d, float* dst)
        where T : struct, ITensorElement
    {
        for (int j = 0; j < rows; j++) T.Widen((byte*)src + j * srcStride * T.Size, dst + (long)j * d, d);
        new Span<float>(dst + (long)rows * d, (bs - rows) * d).Clear();
    }

    /// <summary>Whether all <paramref name="count"/> tokens share one segment id, and which.</summary>
    internal static bool IsUniform(int* seg, int count, out int id)
    {
        id = seg[0];
        for (int i = 1; i < count; i++) if (seg[i] != id) return false;
        return true;
    }

    internal static BlockKind Classify(KernelJob job, int b, int qStart, int kStart, int kValid, int bs, bool queriesUniform, int querySegment)
    {
        bool partial = kValid < bs;
        ref readonly var g = ref job.Geometry;
        if (g.Causal && (long)kStart + kValid - 1 > qStart + job.CausalOffset(b)) partial = true;
        if (job.SegQ != null)
        {
            int* segK = job.SegK + (long)b * g.Shape.KeyLength + kStart;
            // One id on each side: the block is all-or-nothing; otherwise each token pair is checked.
            if (!queriesUniform || !IsUniform(segK, kValid, out int keySegment)) partial = true;
            else if (querySegment != keySegment) return BlockKind.Masked;
        }
        return partial ? BlockKind.Partial : BlockKind.Full;
    }

    /// <summary>Sets the disallowed entries of sT (keys × queries) to −∞: key tail, causal, segment ids. Boundary blocks only.</summary>
    internal static void ApplyTokenMask(KernelJob job, int b, int qStart, int qValid, int kStart, int kValid, int bs, float* sT)
    {
        ref readonly var g = ref job.Geometry;
        var s = g.Shape;
        int* segQ = job.SegQ == null ? null : job.SegQ + (long)b * s.QueryLength + qStart;
        int* segK = job.SegK == null ? null : job.SegK + (long)b * s.KeyLength + kStart;
        for (int j = 0; j < bs; j++)
        {
            var row = new Span<float>(sT + (long)j * bs, bs);
            if (j >= kValid) { row.Fill(float.NegativeInfinity); continue; }
            if (g.Causal)
            {
                // Key kStart + j is visible to queries i with kStart + j ≤ i + offset.
                long firstQuery = (long)kStart + j - job.CausalOffset(b) - qStart;
                int blocked = (int)Math.Clamp(firstQuery, 0, bs);
                row[..blocked].Fill(float.NegativeInfinity);
            }
            if (segQ != null)
            {
                int keySegment = segK[j];
                for (int i = 0; i < qValid; i++) if (segQ[i] != keySegment) row[i] = float.NegativeInfinity;
            }
        }
    }

    private static void WriteOutput<TO>(KernelJob job, int b, int h, int qStart, int qValid, int d, float* acc, float* m, float* l,
        byte* o, long oStride, float* rowScratch)
        where TO : struct, ITensorElement
    {
        int w = TIsa.Width;
        float* lse = job.Lse == null ? null : job.Lse + job.Geometry.LogSumExpBase(b, h) + qStart;
        for (int r = 0; r < qValid; r++)
        {
            byte* orow = o + r * oStride * TO.Size;
            float* arow = acc + (long)r * d;
            float* frow = TO.Type == ElementType.Float32 ? (float*)orow : rowScratch;
            float sum = l[r];
            if (sum > 0)
            {
                TVec inv = TIsa.Broadcast(1f / sum);
                for (int c = 0; c < d; c += w) TIsa.Store(frow + c, TIsa.Multiply(TIsa.Load(arow + c), inv));
                if (TO.Type != ElementType.Float32) TO.Narrow(frow, orow, d);
                if (lse != null) lse[r] = (float)(m[r] * Ln2 + Math.Log(sum));
            }
            else
            {
                // No allowed key: zeros and −∞, never NaN.
                new Span<byte>(orow, d * TO.Size).Clear();
                if (lse != null) lse[r] = float.NegativeInfinity;
            }
        }
    }
}
