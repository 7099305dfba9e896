using System.Runtime.CompilerServices;
using SparseNative.Kernels;
using SparseNative.Kernels.Isa;

namespace SparseNative.Decode;

/// <summary>
/// The decode kernel: one chunk of one pass (<see cref="DecodePlan"/>) — the query heads of one GQA group that share a layout
/// list, all their query rows at once — against a run of key blocks, leaving the unnormalised output, running max and sum of
/// every row in the item's state; <see cref="Finish"/> merges a pass's chunks in order and writes O and the log-sum-exp.
/// Rows take the place of the fused kernel's queries (one lane each), so every lane does the fused kernel's arithmetic: with
/// one chunk the result equals the fused kernel's bit for bit.
/// </summary>
internal static unsafe class DecodeKernel<TIsa, TVec>
    where TIsa : struct, ISimdIsa<TVec>
    where TVec : unmanaged
{
    private const double Ln2 = 0.69314718055994530942;

    // Fully optimised from the first call: a hot loop at tier 0 would run ~10× slower until on-stack replacement.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Process(KernelJob job, DecodePlan plan, int item, float* states, float* scratch)
    {
        ref readonly var g = ref job.Geometry;
        var s = g.Shape;
        int bs = g.BlockSize, d = s.HeadDim, lq = s.QueryLength, bq = plan.RowStride;
        int b = plan.ItemBatch[item], pass = plan.ItemPass[item];
        int[] heads = plan.Heads[pass];
        int kvh = plan.KeyValueHead[pass], rows = heads.Length * lq;
        int w = TIsa.Width;
        int scoreColumns = (rows + w - 1) / w * w, valueRows = (rows + 3) / 4 * 4;

        float* qT = scratch, sT = qT + (long)d * bq, alpha = sT + (long)bs * bq;
        float* kPad = alpha + bq, vPad = kPad + (long)bs * d;
        float* acc = states + item * plan.StateFloats(d), m = acc + (long)bq * d, l = m + bq;

        // Qᵀ of the pass: column r = (head heads[r / lq], query r % lq), scaled by scale·log2 e; columns past the rows are 0.
        for (int r = 0; r < rows; r++)
        {
            float* q = job.Q + g.Queries.Row(b, heads[r / lq], r % lq);
            for (int c = 0; c < d; c++) qT[(long)c * bq + r] = q[c] * job.ScaleLog2;
        }
        for (int c = 0; c < d; c++) new Span<float>(qT + (long)c * bq + rows, bq - rows).Clear();
        new Span<float>(acc, bq * d).Clear();
        new Span<float>(m, bq).Fill(OnlineSoftmax<TIsa, TVec>.MaxSentinel);
        new Span<float>(l, bq).Clear();

        int querySegment = 0;
        bool queriesUniform = job.SegQ != null &&
            FusedBlockKernel<TIsa, TVec>.IsUniform(job.SegQ + (long)b * lq, lq, out querySegment);
        var row = job.Layout.Row(plan.List[pass], 0);
        var (start, end) = plan.ChunkRange(pass, plan.ItemChunk[item], row.Length);
        int keyLength = job.KeyLength(b);
        long causalOffset = job.CausalOffset(b);
        foreach (int kb in row[start..end])
        {
            int kStart = kb * bs, kValid = Math.Min(bs, keyLength - kStart);
            // Columns ascend: once a block lies past the sequence or wholly above the causal diagonal, so do all later ones.
            if (kValid <= 0 || (g.Causal && kStart > lq - 1 + causalOffset)) break;
            var kind = FusedBlockKernel<TIsa, TVec>.Classify(job, b, 0, kStart, kValid, bs, queriesUniform, querySegment);
            if (kind == FusedBlockKernel<TIsa, TVec>.BlockKind.Masked) continue;

            float* kBlock = KeyValueBlock(job.K, job, b, kvh, kStart, kValid, kPad, out long stride);
            float* vBlock = KeyValueBlock(job.V, job, b, kvh, kStart, kValid, vPad, out _);
            MicroKernels<TIsa, TVec>.Scores(kBlock, stride, bs, qT, bq, scoreColumns, d, sT);
            if (kind == FusedBlockKernel<TIsa, TVec>.BlockKind.Partial) Mask(job, b, rows, kStart, kValid, bq, sT);
            OnlineSoftmax<TIsa, TVec>.Update(sT, bs, bq, scoreColumns, m, l, alpha);
            MicroKernels<TIsa, TVec>.AccumulateValues(sT, bq, valueRows, bs, vBlock, stride, acc, d, alpha);
        }
    }

    /// <summary>
    /// The one place the kernel reads K or V: the block of <paramref name="kValid"/> token rows from token
    /// <paramref name="kStart"/> of (batch <paramref name="b"/>, K/V head <paramref name="kvh"/>), as float rows
    /// <paramref name="stride"/> apart. A whole fp32 block is read where it lies; a short last block is copied, zero-padded,
    /// into <paramref name="pad"/> so the tiles never read past the tensor. A half-precision cache widens here, block by
    /// block, into <paramref name="pad"/> (the same copy, converting), so the tiles always see fp32.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float* KeyValueBlock(float* tensor, KernelJob job, int b, int kvh, int kStart, int kValid, float* pad, out long stride)
    {
        ref readonly var g = ref job.Geometry;
        float* block = tensor + job.KeyRow(b, kvh, kStart);
        stride = g.Keys.RowStride;
        if (kValid == g.BlockSize) return block;
        FusedBlockKernel<TIsa, TVec>.CopyRowsPadded(block, stride, kValid, g.BlockSize, g.Shape.HeadDim, pad);
        stride = g.Shape.HeadDim;
        return pad;
    }

    /// <summary>Sets the disallowed entries of sT (keys × rows) to −∞: the key tail, causal, segment ids. Boundary blocks only.</summary>
    private static void Mask(KernelJob job, int b, int rows, int kStart, int kValid, int bq, float* sT)
    {
        ref readonly var g = ref job.Geometry;
        int lq = g.Shape.QueryLength;
        int* segQ = job.SegQ == null ? null : job.SegQ + (long)b * lq;
        int* segK = job.SegK == null ? null : job.SegK + (long)b * g.Shape.KeyLength + kStart;
        for (int j = 0; j < g.BlockSize; j++)
        {
            var scores = new Span<float>(sT + (long)j * bq, bq);
            if (j >= kValid) { scores.Fill(float.NegativeInfinity); continue; }
            for (int r = 0; r < rows; r++)
            {
                int i = r % lq;
                if (!job.CausallyVisible(b, i, kStart + j) || (segQ != null && segQ[i] != segK[j])) scores[r] = float.NegativeInfinity;
            }
        }
    }

    /// <summary>
    /// Merges the chunks of the (batch, pass) whose first item is <paramref name="firstItem"/> into that item, in chunk order, and
    /// writes the pass's output rows and log-sum-exp: O = acc / l, lse = m·ln 2 + ln l; a row that saw no key gets 0 and −∞.
    /// </summary>
    public static void Finish(KernelJob job, DecodePlan plan, int firstItem, float* states)
    {
        ref readonly var g = ref job.Geometry;
        int d = g.Shape.HeadDim, lq = g.Shape.QueryLength, bq = plan.RowStride;
        int b = plan.ItemBatch[firstItem], pass = plan.ItemPass[firstItem];
        int[] heads = plan.Heads[pass];
        long stateFloats = plan.StateFloats(d);
        float* acc = states + firstItem * stateFloats, m = acc + (long)bq * d, l = m + bq;
        for (int chunk = 1; chunk < plan.Chunks[pass]; chunk++)
        {
            float* accC = acc + chunk * stateFloats, mC = accC + (long)bq * d, lC = mC + bq;
            for (int r = 0; r < heads.Length * lq; r++)
            {
                if (float.IsNegativeInfinity(mC[r])) continue; // the chunk saw no key for this row
                float max = MathF.Max(m[r], mC[r]);
                float a = float.Exp2(m[r] - max), c = float.Exp2(mC[r] - max); // m[r] = −∞ gives a = 0
                float* o = acc + (long)r * d, oC = accC + (long)r * d;
                for (int x = 0; x < d; x++) o[x] = o[x] * a + oC[x] * c;
                l[r] = l[r] * a + lC[r] * c;
                m[r] = max;
            }
        }
        for (int r = 0; r < heads.Length * lq; r++)
        {
            int h = heads[r / lq], i = r % lq;
            float* o = job.O + g.Queries.Row(b, h, i), a = acc + (long)r * d;
            float* lse = job.Lse == null ? null : job.Lse + g.LogSumExpBase(b, h) + i;
            float sum = l[r];
            if (sum > 0)
            {
                float inv = 1f / sum;
                for (int x = 0; x < d; x++) o[x] = a[x] * inv;
                if (lse != null) *lse = (float)(m[r] * Ln2 + Math.Log(sum));
            }
            else
            {
                new Span<float>(o, d).Clear();
                if (lse != null) *lse = float.NegativeInfinity;
            }
        }
    }
}
