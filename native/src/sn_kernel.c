/* The fused block-sparse attention kernel (FlashAttention-2 style online softmax), one work item =
 * one query block of one (batch, query head).
 *
 * Compiled once per ISA variant (SN_KERNEL_ID; SN_VEC = floats per vector register; SN_TILE_ROWS =
 * rows of the register tile) with -O3 -ffp-contract=fast. No intrinsics, so the same file serves
 * x86-64 (SSE2 / AVX2+FMA / AVX-512) and aarch64 (NEON): the elementwise loops (packing, masking,
 * softmax, rescaling) are plain loops that gcc auto-vectorises; the two register-tiled products use
 * GNU C vector types (`vector_size`, supported by gcc and clang on every target) because gcc 12 keeps
 * a plain `float acc[4][16]` accumulator tile on the stack (measured here: 3.3 GFLOP/s for the AVX2
 * variant, against 34 with vector types on the same, busy, machine), whereas an array of vector values
 * stays in registers.
 *
 * Data layout: the transposed-score formulation. Per item, Q is packed once, transposed and pre-scaled:
 * Qt[c][i] (d x ldq, ldq = block rounded up to the column tile). For each active key block,
 *     St[j][i] = sum_c K[j][c] * Qt[c][i]       (key j, query i)
 * reads K straight from the tensor (no per-block packing: a strided transpose repeated for every query
 * block would cost a sizeable fraction of the product itself at small head_dim), and puts the queries along the vector lanes, so the softmax bookkeeping (running
 * max m[i], sum l[i], rescale alpha[i]) is elementwise over i: vectorisable with no horizontal
 * reductions and a fixed summation order. Then O[i][:] = alpha[i]*O[i][:] + sum_j P[j][i] * V[j][:],
 * again reading V straight from the tensor.
 *
 * Masking: key tails are never computed (loops stop at the block's real key count); query tails are
 * computed on zero-padded rows and never written out; only blocks that cut the causal diagonal or
 * whose segment ids are not uniformly equal get a token mask (-infinity); blocks entirely above the
 * causal diagonal or with uniformly different segments are skipped.
 *
 * Determinism: an item's result depends only on the item (fixed loop orders, no atomics, no
 * thread-dependent blocking), so any thread count gives bitwise identical output. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sn_exp.h"
#include "sn_half_rows.h"
#include "sn_kernel.h"
#include "sn_kernel_variant.h"

#if defined(__GNUC__) || defined(__clang__)
#  define SN_INLINE static inline __attribute__((always_inline))
#else
#  define SN_INLINE static inline
#endif

/* Register tile: SN_TILE_ROWS rows x 2 vectors of accumulators. 4 x 2 = 8 accumulators fit the 16
 * registers of SSE2/AVX2 with room for operands; AVX-512 has 32 and uses 8 x 2, which halves the loads
 * per FMA (each step loads 2 vectors and broadcasts one value per row). Rows must divide 16 (the
 * smallest block). */
#ifndef SN_TILE_ROWS
#  define SN_TILE_ROWS 4
#endif
#define SN_TILE_COLS (2 * SN_VEC)
#if 16 % SN_TILE_ROWS != 0 || SN_TILE_COLS % SN_TILE_ROWS != 0
#  error "SN_TILE_ROWS must divide 16 and 2 * SN_VEC (padded rows must fit the padded columns)"
#endif

typedef float sn_vf __attribute__((vector_size(SN_VEC * sizeof(float))));
#if SN_TILE_COLS > 8
/* The 8-wide head_dim remainder tile (with SN_VEC = 4 the main tile is already 8 wide). */
typedef float sn_v8 __attribute__((vector_size(8 * sizeof(float))));
#endif

/* Unaligned vector load/store; memcpy compiles to a single move. */
SN_INLINE sn_vf sn_load(const float* p)
{
    sn_vf v;
    memcpy(&v, p, sizeof v);
    return v;
}

SN_INLINE void sn_store(float* p, sn_vf v)
{
    memcpy(p, &v, sizeof v);
}

#if SN_TILE_COLS > 8
SN_INLINE sn_v8 sn_load8(const float* p)
{
    sn_v8 v;
    memcpy(&v, p, sizeof v);
    return v;
}

SN_INLINE void sn_store8(float* p, sn_v8 v)
{
    memcpy(p, &v, sizeof v);
}
#endif

static int32_t sn_min32(int32_t a, int32_t b)
{
    return a < b ? a : b;
}

/* The scratch regions of one thread, carved from one 64-byte aligned allocation. */
typedef struct sn_scratch {
    float* qt;     /* [d][ldq]  scaled, transposed query block (zero in padded columns) */
    float* st;     /* [bs][ldq] scores, then probabilities, transposed                  */
    float* o;      /* [bs][d]   unnormalised output accumulator                         */
    float* m;      /* [ldq]     running max                                             */
    float* l;      /* [ldq]     running sum                                             */
    float* alpha;  /* [ldq]     this block's rescale factor                             */
    float* mx;     /* [ldq]     this block's max                                        */
    float* shift;  /* [ldq]     the max used for exp (0 where the max is still -inf)    */
    float* lsum;   /* [ldq]     this block's sum                                        */
    int32_t* segq; /* [ldq]     query segment ids of the block                          */
    float* kw;     /* [bs][d]   a float16/bfloat16 key block widened (absent for float32)  */
    float* vw;     /* [bs][d]   the same for values                                     */
} sn_scratch;

static size_t sn_region(size_t floats)
{
    return (floats * sizeof(float) + 63) / 64 * 64;
}

static size_t sn_layout_scratch(const sn_plan* p, sn_scratch* s, char* base)
{
    const size_t bs = (size_t)p->block_size, d = (size_t)p->head_dim;
    const size_t ldq = (size_t)sn_round_up(p->block_size, SN_TILE_COLS);
    const size_t widened = p->kv_dtype == SN_DTYPE_F32 ? 0 : bs * d;
    const size_t sizes[12] = { d * ldq, bs * ldq, bs * d, ldq, ldq, ldq, ldq, ldq, ldq, ldq, widened, widened };
    float** slots[12] = { &s->qt, &s->st, &s->o, &s->m, &s->l, &s->alpha, &s->mx, &s->shift, &s->lsum, NULL, &s->kw, &s->vw };
    size_t offset = 0;
    for (int i = 0; i < 12; ++i) {
        if (base != NULL) {
            if (i != 9) *slots[i] = (float*)(void*)(base + offset);
            else s->segq = (int32_t*)(void*)(base + offset);
        }
        offset += sn_region(sizes[i]);
    }
    return offset;
}

static size_t sn_scratch_bytes(const sn_plan* p)
{
    sn_scratch unused;
    return sn_layout_scratch(p, &unused, NULL);
}

/* Qt[c][i] = scale * Q[r0 + i][c] for i < rows, 0 for rows <= i < cols. Q holds elements of dtype (of
 * `size` bytes); each row is widened into `row` (d floats) first. */
static void sn_pack_q(float* restrict qt, const char* restrict q, int32_t dtype, size_t size, int64_t token_stride,
                      int32_t rows, int32_t cols, int32_t d, int32_t ldq, float scale, float* restrict row)
{
    for (int32_t i = 0; i < rows; ++i) {
        sn_widen_row(row, q + (size_t)(i * token_stride) * size, dtype, d);
        for (int32_t c = 0; c < d; ++c) qt[(int64_t)c * ldq + i] = scale * row[c];
    }
    for (int32_t c = 0; c < d; ++c)
        for (int32_t i = rows; i < cols; ++i) qt[(int64_t)c * ldq + i] = 0.0f;
}

/* St[r][0 .. SN_TILE_COLS) for r < R: R key rows against one column tile of queries. */
SN_INLINE void sn_qk_tile(int R, float* restrict st, const float* restrict k, int64_t token_stride,
                          const float* restrict qt, int32_t d, int32_t ldq)
{
    sn_vf acc[SN_TILE_ROWS][2];
    for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = (sn_vf){ 0 };
    for (int32_t c = 0; c < d; ++c) {
        const float* qr = qt + (int64_t)c * ldq;
        const sn_vf q0 = sn_load(qr), q1 = sn_load(qr + SN_VEC);
        for (int r = 0; r < R; ++r) {
            const float kv = k[r * token_stride + c];
            acc[r][0] += kv * q0;
            acc[r][1] += kv * q1;
        }
    }
    for (int r = 0; r < R; ++r) {
        sn_store(st + (int64_t)r * ldq, acc[r][0]);
        sn_store(st + (int64_t)r * ldq + SN_VEC, acc[r][1]);
    }
}

/* St = K_blk Qt for keys [0, keys) and query columns [0, cols). */
static void sn_scores(float* restrict st, const float* restrict k, int64_t token_stride, int32_t keys,
                      const float* restrict qt, int32_t cols, int32_t d, int32_t ldq)
{
    int32_t j = 0;
    for (; j + SN_TILE_ROWS <= keys; j += SN_TILE_ROWS)
        for (int32_t i = 0; i < cols; i += SN_TILE_COLS)
            sn_qk_tile(SN_TILE_ROWS, st + (int64_t)j * ldq + i, k + j * token_stride, token_stride, qt + i, d, ldq);
    /* The key tail one row at a time: never read past the block's last real key. */
    for (; j < keys; ++j)
        for (int32_t i = 0; i < cols; i += SN_TILE_COLS)
            sn_qk_tile(1, st + (int64_t)j * ldq + i, k + j * token_stride, token_stride, qt + i, d, ldq);
}

#if defined(__AVX512BF16__)
/* The AVX512_BF16 variant: with bfloat16 Q and K, St = K Qt is computed by vdpbf16ps, two products of exact
 * bfloat16 values per lane and instruction, accumulated in float32. Qp[c2][i] holds query i's pair of channels
 * (2 c2, 2 c2 + 1) as 32 bits (unscaled: the scale is applied to the sums); K's pairs are read from the tensor. */
#  include <immintrin.h>
#  define SN_BF16_DOT 1

static void sn_pack_q_bf16(uint32_t* restrict qp, const uint16_t* restrict q, int64_t token_stride, int32_t rows,
                           int32_t cols, int32_t d, int32_t ldq)
{
    for (int32_t i = 0; i < rows; ++i) {
        const uint16_t* restrict qr = q + i * token_stride;
        for (int32_t c2 = 0; c2 < d / 2; ++c2)
            qp[(int64_t)c2 * ldq + i] = (uint32_t)qr[2 * c2] | (uint32_t)qr[2 * c2 + 1] << 16;
    }
    for (int32_t c2 = 0; c2 < d / 2; ++c2)
        for (int32_t i = rows; i < cols; ++i) qp[(int64_t)c2 * ldq + i] = 0;
}

/* St[r][0 .. 32) = scale * sum_c K[r][c] Q[c][..] for r < R, from bfloat16 pairs. */
SN_INLINE void sn_qk_tile_bf16(int R, float* restrict st, const uint16_t* restrict k, int64_t token_stride,
                               const uint32_t* restrict qp, int32_t d, int32_t ldq, float scale)
{
    __m512 acc[SN_TILE_ROWS][2];
    for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (int32_t c2 = 0; c2 < d / 2; ++c2) {
        const uint32_t* qr = qp + (int64_t)c2 * ldq;
        const __m512bh q0 = (__m512bh)_mm512_loadu_si512(qr), q1 = (__m512bh)_mm512_loadu_si512(qr + 16);
        for (int r = 0; r < R; ++r) {
            uint32_t pair;
            memcpy(&pair, k + r * token_stride + 2 * c2, sizeof pair);
            const __m512bh kb = (__m512bh)_mm512_set1_epi32((int)pair);
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], q0, kb);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], q1, kb);
        }
    }
    const __m512 sv = _mm512_set1_ps(scale);
    for (int r = 0; r < R; ++r) {
        _mm512_storeu_ps(st + (int64_t)r * ldq, _mm512_mul_ps(acc[r][0], sv));
        _mm512_storeu_ps(st + (int64_t)r * ldq + 16, _mm512_mul_ps(acc[r][1], sv));
    }
}

static void sn_scores_bf16(float* restrict st, const uint16_t* restrict k, int64_t token_stride, int32_t keys,
                           const uint32_t* restrict qp, int32_t cols, int32_t d, int32_t ldq, float scale)
{
    int32_t j = 0;
    for (; j + SN_TILE_ROWS <= keys; j += SN_TILE_ROWS)
        for (int32_t i = 0; i < cols; i += SN_TILE_COLS)
            sn_qk_tile_bf16(SN_TILE_ROWS, st + (int64_t)j * ldq + i, k + j * token_stride, token_stride, qp + i, d, ldq,
                            scale);
    for (; j < keys; ++j)
        for (int32_t i = 0; i < cols; i += SN_TILE_COLS)
            sn_qk_tile_bf16(1, st + (int64_t)j * ldq + i, k + j * token_stride, token_stride, qp + i, d, ldq, scale);
}
#else
#  define SN_BF16_DOT 0
#endif

/* Sets St[j][i] = -infinity where key c0 + j may not be seen by query r0 + i. */
static void sn_mask(float* restrict st, int32_t keys, int32_t cols, int32_t ldq, int causal,
                    int64_t first_query, int64_t first_key, int64_t causal_offset,
                    const int32_t* restrict segq, const int32_t* restrict segk)
{
    for (int32_t j = 0; j < keys; ++j) {
        float* restrict row = st + (int64_t)j * ldq;
        if (causal) {
            /* Key c0+j is visible to query r0+i iff c0 + j <= r0 + i + offset, i.e. i >= first_visible. */
            const int64_t first_visible = first_key + j - first_query - causal_offset;
            const int32_t hidden = first_visible <= 0 ? 0 : (int32_t)(first_visible < cols ? first_visible : cols);
            for (int32_t i = 0; i < hidden; ++i) row[i] = -INFINITY;
        }
        if (segk != NULL) {
            const int32_t sk = segk[j];
            for (int32_t i = 0; i < cols; ++i) row[i] = segq[i] == sk ? row[i] : -INFINITY;
        }
    }
}

/* Online-softmax update over one block: turns St into probabilities relative to the new running max,
 * and leaves in alpha[i] the factor by which O's row i must be rescaled. All loops run over the query
 * lanes i, so they vectorise; the sum over keys j is sequential per lane (a fixed order). */
static void sn_softmax_update(const sn_scratch* s, int32_t keys, int32_t cols, int32_t ldq)
{
    float* restrict st = s->st;
    float* restrict m = s->m;
    float* restrict l = s->l;
    float* restrict alpha = s->alpha;
    float* restrict mx = s->mx;
    float* restrict shift = s->shift;
    float* restrict lsum = s->lsum;

    for (int32_t i = 0; i < cols; ++i) mx[i] = m[i];
    for (int32_t j = 0; j < keys; ++j) {
        const float* restrict row = st + (int64_t)j * ldq;
        for (int32_t i = 0; i < cols; ++i) mx[i] = row[i] > mx[i] ? row[i] : mx[i];
    }
    /* A lane whose max is still -inf (everything masked so far) shifts by 0 instead, so that
     * exp(-inf - shift) is exp(-inf) = 0 rather than exp(NaN); its alpha is then 0 too, harmless
     * because its l and O are still 0. */
    for (int32_t i = 0; i < cols; ++i) {
        shift[i] = mx[i] == -INFINITY ? 0.0f : mx[i];
        alpha[i] = sn_exp_nonpositive(m[i] - shift[i]);
        lsum[i] = 0.0f;
    }
    for (int32_t j = 0; j < keys; ++j) {
        float* restrict row = st + (int64_t)j * ldq;
        for (int32_t i = 0; i < cols; ++i) {
            const float e = sn_exp_nonpositive(row[i] - shift[i]);
            row[i] = e;
            lsum[i] += e;
        }
    }
    for (int32_t i = 0; i < cols; ++i) {
        l[i] = l[i] * alpha[i] + lsum[i];
        m[i] = mx[i];
    }
}

/* O[r][0 .. 2*SN_VEC) += sum_j P[j][r] * V[j][0 .. 2*SN_VEC) for r < SN_TILE_ROWS. */
SN_INLINE void sn_pv_tile(float* restrict o, int32_t d, const float* restrict pt, int32_t ldq,
                          const float* restrict v, int64_t token_stride, int32_t keys)
{
    sn_vf acc[SN_TILE_ROWS][2];
    for (int r = 0; r < SN_TILE_ROWS; ++r) {
        acc[r][0] = sn_load(o + (int64_t)r * d);
        acc[r][1] = sn_load(o + (int64_t)r * d + SN_VEC);
    }
    for (int32_t j = 0; j < keys; ++j) {
        const float* vr = v + j * token_stride;
        const float* pr = pt + (int64_t)j * ldq;
        const sn_vf v0 = sn_load(vr), v1 = sn_load(vr + SN_VEC);
        for (int r = 0; r < SN_TILE_ROWS; ++r) {
            acc[r][0] += pr[r] * v0;
            acc[r][1] += pr[r] * v1;
        }
    }
    for (int r = 0; r < SN_TILE_ROWS; ++r) {
        sn_store(o + (int64_t)r * d, acc[r][0]);
        sn_store(o + (int64_t)r * d + SN_VEC, acc[r][1]);
    }
}

#if SN_TILE_COLS > 8
/* The same for an 8-wide column remainder (head_dim is a multiple of 8 but maybe not of 2*SN_VEC). */
SN_INLINE void sn_pv_tile8(float* restrict o, int32_t d, const float* restrict pt, int32_t ldq,
                           const float* restrict v, int64_t token_stride, int32_t keys)
{
    sn_v8 acc[SN_TILE_ROWS];
    for (int r = 0; r < SN_TILE_ROWS; ++r) acc[r] = sn_load8(o + (int64_t)r * d);
    for (int32_t j = 0; j < keys; ++j) {
        const sn_v8 v0 = sn_load8(v + j * token_stride);
        const float* pr = pt + (int64_t)j * ldq;
        for (int r = 0; r < SN_TILE_ROWS; ++r) acc[r] += pr[r] * v0;
    }
    for (int r = 0; r < SN_TILE_ROWS; ++r) sn_store8(o + (int64_t)r * d, acc[r]);
}
#endif

/* O[0..rows) = alpha * O + P^T V for one key block. rows is a multiple of SN_TILE_ROWS, d of 8. */
static void sn_accumulate(const sn_scratch* s, int32_t rows, int32_t d, int32_t ldq, const float* restrict v,
                          int64_t token_stride, int32_t keys)
{
    float* restrict o = s->o;
    for (int32_t i = 0; i < rows; ++i) {
        const float a = s->alpha[i];
        if (a == 1.0f) continue;
        float* restrict orow = o + (int64_t)i * d;
        for (int32_t c = 0; c < d; ++c) orow[c] *= a;
    }
    for (int32_t i = 0; i < rows; i += SN_TILE_ROWS) {
        float* orow = o + (int64_t)i * d;
        const float* pt = s->st + i;
        int32_t c = 0;
        for (; c + SN_TILE_COLS <= d; c += SN_TILE_COLS) sn_pv_tile(orow + c, d, pt, ldq, v + c, token_stride, keys);
#if SN_TILE_COLS > 8
        for (; c < d; c += 8) sn_pv_tile8(orow + c, d, pt, ldq, v + c, token_stride, keys);
#endif
    }
}

/* 1 if all n values are equal (then *value is that value). */
static int sn_uniform(const int32_t* ids, int32_t n, int32_t* value)
{
    *value = ids[0];
    for (int32_t i = 1; i < n; ++i)
        if (ids[i] != ids[0]) return 0;
    return 1;
}

static void sn_run_item(const sn_plan* p, void* scratch, int64_t item)
{
    /* Items are numbered heaviest-first: the last query blocks (which see the most keys under a causal
     * mask) come first so that dynamic scheduling ends with small items. */
    const int64_t heads_total = (int64_t)p->batch * p->query_heads;
    const int32_t qb = p->query_blocks - 1 - (int32_t)(item / heads_total);
    const int32_t b = (int32_t)(item % heads_total / p->query_heads);
    const int32_t h = (int32_t)(item % heads_total % p->query_heads);
    const int32_t hk = h / p->group;
    const int32_t list = h % p->num_layouts;
    const int32_t bs = p->block_size, d = p->head_dim;
    const int32_t ldq = sn_round_up(bs, SN_TILE_COLS);
    const int32_t r0 = qb * bs;
    const int32_t rows = sn_min32(bs, p->query_length - r0);
    const int32_t rows_padded = sn_round_up(rows, SN_TILE_ROWS);
    const int32_t cols = sn_round_up(rows, SN_TILE_COLS);

    sn_scratch s;
    sn_layout_scratch(p, &s, scratch);

    const size_t q_size = p->dtype == SN_DTYPE_F32 ? sizeof(float) : sizeof(uint16_t);
    const size_t kv_size = p->kv_dtype == SN_DTYPE_F32 ? sizeof(float) : sizeof(uint16_t);
    const int64_t q_offset = b * p->q_batch_stride + h * p->q_head_stride + r0 * p->q_token_stride;
    const int bf16_dot = SN_BF16_DOT && p->dtype == SN_DTYPE_BF16 && p->kv_dtype == SN_DTYPE_BF16;
#if SN_BF16_DOT
    if (bf16_dot)
        sn_pack_q_bf16((uint32_t*)(void*)s.qt, (const uint16_t*)p->q + q_offset, p->q_token_stride, rows, cols, d, ldq);
    else
#endif
    /* O's scratch is free until it is zeroed below: it holds each query row as it is widened. */
    sn_pack_q(s.qt, (const char*)p->q + (size_t)q_offset * q_size, p->dtype, q_size, p->q_token_stride, rows, cols,
              d, ldq, p->scale, s.o);
    for (int32_t i = 0; i < cols; ++i) {
        s.m[i] = -INFINITY;
        s.l[i] = 0.0f;
    }
    for (int64_t x = 0; x < (int64_t)rows_padded * d; ++x) s.o[x] = 0.0f;

    const int32_t* segk_all = NULL;
    int32_t segq_uniform = 0, segq_value = 0;
    if (p->query_segment_ids != NULL) {
        const int32_t* segq = p->query_segment_ids + (int64_t)b * p->query_length + r0;
        for (int32_t i = 0; i < cols; ++i) s.segq[i] = segq[i < rows ? i : rows - 1];
        segq_uniform = sn_uniform(segq, rows, &segq_value);
        segk_all = p->key_segment_ids + (int64_t)b * p->key_length;
    }

    const int64_t kv_offset = b * p->kv_batch_stride + hk * p->kv_head_stride;
    const char* kbase = (const char*)p->k + (size_t)kv_offset * kv_size;
    const char* vbase = (const char*)p->v + (size_t)kv_offset * kv_size;
    const int32_t* offsets = p->row_offsets + (int64_t)list * (p->query_blocks + 1);
    const int64_t last_query = (int64_t)r0 + rows - 1;
    for (int32_t e = offsets[qb]; e < offsets[qb + 1]; ++e) {
        const int32_t kb = p->col_indices[p->list_base[list] + e];
        const int32_t c0 = kb * bs;
        const int32_t keys = sn_min32(bs, p->key_length - c0);
        int need_mask = 0;
        if (p->causal) {
            if (c0 > last_query + p->causal_offset) continue; /* every key is above the diagonal */
            if ((int64_t)c0 + keys - 1 > r0 + p->causal_offset) need_mask = 1;
        }
        const int32_t* segk = NULL;
        if (segk_all != NULL) {
            int32_t segk_value;
            const int segk_uniform = sn_uniform(segk_all + c0, keys, &segk_value);
            if (segq_uniform && segk_uniform) {
                if (segq_value != segk_value) continue; /* no pair in the block shares a segment */
            } else {
                segk = segk_all + c0;
                need_mask = 1;
            }
        }
        const char* k_rows = kbase + (size_t)(c0 * p->kv_token_stride) * kv_size;
        const char* v_rows = vbase + (size_t)(c0 * p->kv_token_stride) * kv_size;
        const float* k = (const float*)(const void*)k_rows;
        const float* v = (const float*)(const void*)v_rows;
        int64_t kv_stride = p->kv_token_stride;
        if (p->kv_dtype != SN_DTYPE_F32) {
            /* A float16/bfloat16 block is widened once into scratch; the products then read float32 rows (the
             * bfloat16 dot product reads K's pairs in place). */
            for (int32_t j = 0; j < keys; ++j) {
                if (!bf16_dot)
                    sn_widen_row(s.kw + (int64_t)j * d, k_rows + (size_t)(j * p->kv_token_stride) * kv_size, p->kv_dtype, d);
                sn_widen_row(s.vw + (int64_t)j * d, v_rows + (size_t)(j * p->kv_token_stride) * kv_size, p->kv_dtype, d);
            }
            k = s.kw;
            v = s.vw;
            kv_stride = d;
        }
#if SN_BF16_DOT
        if (bf16_dot)
            sn_scores_bf16(s.st, (const uint16_t*)(const void*)k_rows, p->kv_token_stride, keys, (const uint32_t*)(void*)s.qt,
                           cols, d, ldq, p->scale);
        else
#endif
        sn_scores(s.st, k, kv_stride, keys, s.qt, cols, d, ldq);
        if (need_mask)
            sn_mask(s.st, keys, cols, ldq, p->causal, r0, c0, p->causal_offset, s.segq, segk);
        sn_softmax_update(&s, keys, cols, ldq);
        sn_accumulate(&s, rows_padded, d, ldq, v, kv_stride, keys);
    }

    char* out = (char*)p->out + (size_t)q_offset * q_size;
    for (int32_t i = 0; i < rows; ++i) {
        char* orow = out + (size_t)(i * p->q_token_stride) * q_size;
        /* A float32 row is written in place; another type goes through Qt's scratch (dead by now), rounded once. */
        float* restrict frow = p->dtype == SN_DTYPE_F32 ? (float*)(void*)orow : s.qt;
        const float* restrict acc = s.o + (int64_t)i * d;
        const float l = s.l[i];
        /* l == 0 exactly when no key was allowed: the contract's 0 output and -inf lse (never NaN). */
        const float inv = l > 0.0f ? 1.0f / l : 0.0f;
        for (int32_t c = 0; c < d; ++c) frow[c] = acc[c] * inv;
        if (p->dtype != SN_DTYPE_F32) sn_narrow_row(orow, frow, p->dtype, d);
        if (p->lse != NULL)
            p->lse[((int64_t)b * p->query_heads + h) * p->query_length + r0 + i] =
                l > 0.0f ? s.m[i] + logf(l) : -INFINITY;
    }
}

const sn_kernel SN_CAT(sn_kernel_, SN_KERNEL_ID) = {
    SN_STR(SN_KERNEL_ID),
    sn_scratch_bytes,
    sn_run_item,
};
