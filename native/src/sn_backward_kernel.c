/* The fused block-sparse backward kernels (FlashAttention-2's backward), see sn_backward_kernel.h.
 *
 * Compiled once per ISA variant (SN_KERNEL_ID, SN_VEC) with the forward's flags. The products are written
 * as scalar-times-row updates (x[0..n) += a * y[0..n)) over contiguous rows, which gcc and clang
 * auto-vectorise at the variant's width without reassociating any sum: every element is accumulated in a
 * fixed order, so each variant is deterministic.
 *
 * Per block of `rows` queries (from r0) and `keys` keys (from c0), with K and V packed transposed and K
 * pre-scaled (Kt[c][j] = scale K[j][c], Vt[c][j] = V[j][c]):
 *   S[i][j]  = sum_c Q[i][c] Kt[c][j]          (= scale q_i.k_j)
 *   P[i][j]  = exp(S[i][j] - lse_i), 0 where the pair is masked or the row is empty (lse_i = -inf)
 *   dS[i][j] = P[i][j] (sum_c dO[i][c] Vt[c][j] - D_i),   D_i = sum_c dO[i][c] O[i][c]
 * then the dq item adds dS K into its accumulator and the dk/dv item adds P^T dO and dS^T Q into its own;
 * dq and dk are multiplied by scale once, at the end. Blocks entirely above the causal diagonal or with
 * uniformly different segment ids are skipped, as in the forward. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sn_backward_kernel.h"
#include "sn_exp.h"
#include "sn_kernel_variant.h"

static int32_t sn_min32(int32_t a, int32_t b)
{
    return a < b ? a : b;
}

/* The scratch regions of one thread, carved from one 64-byte aligned allocation. ldk = block size rounded
 * up to a whole number of vectors, so that every row of kt, vt, s and ds starts aligned. */
typedef struct sn_bwd_scratch {
    float* kt;      /* [d][ldk]   scale * K^T of the key block                        */
    float* vt;      /* [d][ldk]   V^T of the key block                                */
    float* s;       /* [bs][ldk]  scores, then P                                      */
    float* ds;      /* [bs][ldk]  dO.V^T, then dS                                     */
    float* acc;     /* [2][bs][d] dq (dq item) or dk then dv (dk/dv item)             */
    float* delta;   /* [bs]       D_i of the query block                              */
    int32_t* segq;  /* [bs]       query segment ids of the block                      */
} sn_bwd_scratch;

static size_t sn_region(size_t elements)
{
    return (elements * sizeof(float) + 63) / 64 * 64;
}

static int32_t sn_ldk(const sn_plan* p)
{
    return sn_round_up(p->block_size, SN_VEC);
}

static size_t sn_bwd_layout(const sn_plan* p, sn_bwd_scratch* s, char* base)
{
    const size_t bs = (size_t)p->block_size, d = (size_t)p->head_dim, ldk = (size_t)sn_ldk(p);
    const size_t sizes[7] = { d * ldk, d * ldk, bs * ldk, bs * ldk, 2 * bs * d, bs, bs };
    void** slots[7] = { (void**)&s->kt, (void**)&s->vt, (void**)&s->s, (void**)&s->ds,
                        (void**)&s->acc, (void**)&s->delta, (void**)&s->segq };
    size_t offset = 0;
    for (int i = 0; i < 7; ++i) {
        if (base != NULL) *slots[i] = base + offset;
        offset += sn_region(sizes[i]);
    }
    return offset;
}

static size_t sn_bwd_scratch_bytes(const sn_plan* p)
{
    sn_bwd_scratch unused;
    return sn_bwd_layout(p, &unused, NULL);
}

/* x[0..n) += a * y[0..n) */
static inline void sn_axpy(float* restrict x, float a, const float* restrict y, int32_t n)
{
    for (int32_t c = 0; c < n; ++c) x[c] += a * y[c];
}

/* Kt[c][j] = scale * K[j][c], Vt[c][j] = V[j][c] for the block's keys. */
static void sn_pack_kv(const sn_bwd_scratch* s, const float* restrict k, const float* restrict v, int64_t token_stride,
                       int32_t keys, int32_t d, int32_t ldk, float scale)
{
    for (int32_t j = 0; j < keys; ++j) {
        const float* restrict kr = k + j * token_stride;
        const float* restrict vr = v + j * token_stride;
        for (int32_t c = 0; c < d; ++c) {
            s->kt[(int64_t)c * ldk + j] = scale * kr[c];
            s->vt[(int64_t)c * ldk + j] = vr[c];
        }
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

/* The query side of one (batch, query head, query block): where its rows are. */
typedef struct sn_qblock {
    const float* q;     /* row 0 of Q; rows token_stride apart (as are out and dout's)   */
    const float* out;
    const float* dout;
    const float* lse;   /* lse of row 0; rows contiguous                                 */
    int32_t r0, rows;
} sn_qblock;

static sn_qblock sn_query_block(const sn_backward_plan* bp, int32_t b, int32_t h, int32_t qb)
{
    const sn_plan* p = bp->plan;
    sn_qblock blk;
    blk.r0 = qb * p->block_size;
    blk.rows = sn_min32(p->block_size, p->query_length - blk.r0);
    const int64_t at = b * p->q_batch_stride + h * p->q_head_stride + blk.r0 * p->q_token_stride;
    blk.q = (const float*)p->q + at;
    blk.out = bp->out + at;
    blk.dout = bp->dout + at;
    blk.lse = p->lse + ((int64_t)b * p->query_heads + h) * p->query_length + blk.r0;
    return blk;
}

/* D_i = dO_i . O_i for the block's rows, in one fixed order (the same in both passes). */
static void sn_delta(float* restrict delta, const sn_qblock* blk, int64_t token_stride, int32_t d)
{
    for (int32_t i = 0; i < blk->rows; ++i) {
        const float* restrict o = blk->out + i * token_stride;
        const float* restrict g = blk->dout + i * token_stride;
        float sum = 0.0f;
        for (int32_t c = 0; c < d; ++c) sum += g[c] * o[c];
        delta[i] = sum;
    }
}

/* Whether the (query block, key block) pair has any allowed pair, and whether it needs a token mask: the
 * forward's rules. segk is the block's key segment ids (NULL without segments); segq_uniform/segq_value
 * describe the query block's. */
static int sn_block_visible(const sn_plan* p, int32_t r0, int32_t rows, int32_t c0, int32_t keys,
                            const int32_t* segk, int segq_uniform, int32_t segq_value, int* need_mask)
{
    *need_mask = 0;
    if (p->causal) {
        if (c0 > (int64_t)r0 + rows - 1 + p->causal_offset) return 0; /* every key is above the diagonal */
        if ((int64_t)c0 + keys - 1 > r0 + p->causal_offset) *need_mask = 1;
    }
    if (segk != NULL) {
        int32_t segk_value;
        const int segk_uniform = sn_uniform(segk, keys, &segk_value);
        if (segq_uniform && segk_uniform) {
            if (segq_value != segk_value) return 0; /* no pair in the block shares a segment */
        } else {
            *need_mask = 1;
        }
    }
    return 1;
}

/* s = P and ds = dS for the block (rows x keys), from packed Kt, Vt. */
static void sn_block_p_ds(const sn_plan* p, const sn_bwd_scratch* s, const sn_qblock* blk, int32_t c0, int32_t keys,
                          int need_mask, const int32_t* segk)
{
    const int32_t d = p->head_dim, ldk = sn_ldk(p);
    const int64_t ts = p->q_token_stride;
    for (int32_t i = 0; i < blk->rows; ++i) {
        float* restrict srow = s->s + (int64_t)i * ldk;
        float* restrict drow = s->ds + (int64_t)i * ldk;
        const float lse = blk->lse[i];
        if (lse == -INFINITY) { /* an empty row: no allowed key, P = 0 */
            for (int32_t j = 0; j < keys; ++j) srow[j] = drow[j] = 0.0f;
            continue;
        }
        for (int32_t j = 0; j < keys; ++j) srow[j] = drow[j] = 0.0f;
        const float* restrict qr = blk->q + i * ts;
        const float* restrict gr = blk->dout + i * ts;
        for (int32_t c = 0; c < d; ++c) {
            sn_axpy(srow, qr[c], s->kt + (int64_t)c * ldk, keys);
            sn_axpy(drow, gr[c], s->vt + (int64_t)c * ldk, keys);
        }
        if (need_mask) {
            const int32_t i_abs = blk->r0 + i;
            int32_t visible = keys;
            if (p->causal) {
                /* key c0 + j is visible iff c0 + j <= i_abs + offset */
                const int64_t last = (int64_t)i_abs + p->causal_offset - c0;
                visible = last < 0 ? 0 : (int32_t)(last + 1 < keys ? last + 1 : keys);
            }
            for (int32_t j = visible; j < keys; ++j) srow[j] = -INFINITY;
            if (segk != NULL) {
                const int32_t sq = s->segq[i];
                for (int32_t j = 0; j < keys; ++j) srow[j] = segk[j] == sq ? srow[j] : -INFINITY;
            }
        }
        const float dlt = s->delta[i];
        for (int32_t j = 0; j < keys; ++j) {
            const float x = srow[j] - lse;
            /* x <= 0 up to rounding (lse is the row's log-sum-exp); a masked score gives exactly 0. */
            const float pij = srow[j] == -INFINITY ? 0.0f : sn_exp_nonpositive(x);
            srow[j] = pij;
            drow[j] = pij * (drow[j] - dlt);
        }
    }
}

/* Segment bookkeeping of a query block: copies its ids to scratch and tells whether they are uniform. */
static void sn_query_segments(const sn_plan* p, const sn_bwd_scratch* s, int32_t b, const sn_qblock* blk,
                              int* uniform, int32_t* value)
{
    *uniform = 0;
    *value = 0;
    if (p->query_segment_ids == NULL) return;
    const int32_t* segq = p->query_segment_ids + (int64_t)b * p->query_length + blk->r0;
    memcpy(s->segq, segq, sizeof(int32_t) * (size_t)blk->rows);
    *uniform = sn_uniform(segq, blk->rows, value);
}

static void sn_dq_item(const sn_backward_plan* bp, void* scratch, int64_t item)
{
    const sn_plan* p = bp->plan;
    /* Heaviest first, as in the forward: the last query blocks see the most keys under a causal mask. */
    const int64_t heads_total = (int64_t)p->batch * p->query_heads;
    const int32_t qb = p->query_blocks - 1 - (int32_t)(item / heads_total);
    const int32_t b = (int32_t)(item % heads_total / p->query_heads);
    const int32_t h = (int32_t)(item % heads_total % p->query_heads);
    const int32_t hk = h / p->group, list = h % p->num_layouts;
    const int32_t bs = p->block_size, d = p->head_dim, ldk = sn_ldk(p);

    sn_bwd_scratch s;
    sn_bwd_layout(p, &s, scratch);
    const sn_qblock blk = sn_query_block(bp, b, h, qb);
    sn_delta(s.delta, &blk, p->q_token_stride, d);
    int segq_uniform;
    int32_t segq_value;
    sn_query_segments(p, &s, b, &blk, &segq_uniform, &segq_value);
    memset(s.acc, 0, sizeof(float) * (size_t)blk.rows * (size_t)d);

    const float* kbase = (const float*)p->k + b * p->kv_batch_stride + hk * p->kv_head_stride;
    const float* vbase = (const float*)p->v + b * p->kv_batch_stride + hk * p->kv_head_stride;
    const int32_t* segk_all = p->key_segment_ids == NULL ? NULL : p->key_segment_ids + (int64_t)b * p->key_length;
    const int32_t* offsets = p->row_offsets + (int64_t)list * (p->query_blocks + 1);
    for (int32_t e = offsets[qb]; e < offsets[qb + 1]; ++e) {
        const int32_t kb = p->col_indices[p->list_base[list] + e];
        const int32_t c0 = kb * bs, keys = sn_min32(bs, p->key_length - c0);
        const int32_t* segk = segk_all == NULL ? NULL : segk_all + c0;
        int need_mask;
        if (!sn_block_visible(p, blk.r0, blk.rows, c0, keys, segk, segq_uniform, segq_value, &need_mask)) continue;
        const float* k = kbase + c0 * p->kv_token_stride;
        sn_pack_kv(&s, k, vbase + c0 * p->kv_token_stride, p->kv_token_stride, keys, d, ldk, p->scale);
        sn_block_p_ds(p, &s, &blk, c0, keys, need_mask, segk);
        for (int32_t i = 0; i < blk.rows; ++i) {
            float* restrict acc = s.acc + (int64_t)i * d;
            const float* restrict dsr = s.ds + (int64_t)i * ldk;
            for (int32_t j = 0; j < keys; ++j) sn_axpy(acc, dsr[j], k + j * p->kv_token_stride, d);
        }
    }

    float* dq = bp->dq + b * p->q_batch_stride + h * p->q_head_stride + blk.r0 * p->q_token_stride;
    for (int32_t i = 0; i < blk.rows; ++i) {
        float* restrict row = dq + i * p->q_token_stride;
        const float* restrict acc = s.acc + (int64_t)i * d;
        for (int32_t c = 0; c < d; ++c) row[c] = p->scale * acc[c];
    }
}

static void sn_dkv_item(const sn_backward_plan* bp, void* scratch, int64_t item)
{
    const sn_plan* p = bp->plan;
    const int64_t heads_total = (int64_t)p->batch * p->kv_heads;
    /* Key blocks in increasing order: under a causal mask the first key blocks are seen by the most queries. */
    const int32_t kb = (int32_t)(item / heads_total);
    const int32_t b = (int32_t)(item % heads_total / p->kv_heads);
    const int32_t hk = (int32_t)(item % heads_total % p->kv_heads);
    const int32_t bs = p->block_size, d = p->head_dim, ldk = sn_ldk(p);
    const int32_t c0 = kb * bs, keys = sn_min32(bs, p->key_length - c0);

    sn_bwd_scratch s;
    sn_bwd_layout(p, &s, scratch);
    float* dk_acc = s.acc;
    float* dv_acc = s.acc + (int64_t)bs * d;
    memset(s.acc, 0, sizeof(float) * 2 * (size_t)bs * (size_t)d);

    const int64_t kv_at = b * p->kv_batch_stride + hk * p->kv_head_stride + c0 * p->kv_token_stride;
    sn_pack_kv(&s, (const float*)p->k + kv_at, (const float*)p->v + kv_at, p->kv_token_stride, keys, d, ldk, p->scale);
    const int32_t* segk = p->key_segment_ids == NULL ? NULL : p->key_segment_ids + (int64_t)b * p->key_length + c0;

    for (int32_t h = hk * p->group; h < (hk + 1) * p->group; ++h) {
        const int32_t list = h % p->num_layouts;
        const int32_t* col = bp->csc_offsets + (int64_t)list * (p->key_blocks + 1);
        const int32_t* rows_of = bp->csc_rows + p->list_base[list];
        for (int32_t e = col[kb]; e < col[kb + 1]; ++e) {
            const sn_qblock blk = sn_query_block(bp, b, h, rows_of[e]);
            int segq_uniform;
            int32_t segq_value;
            sn_query_segments(p, &s, b, &blk, &segq_uniform, &segq_value);
            int need_mask;
            if (!sn_block_visible(p, blk.r0, blk.rows, c0, keys, segk, segq_uniform, segq_value, &need_mask))
                continue;
            sn_delta(s.delta, &blk, p->q_token_stride, d);
            sn_block_p_ds(p, &s, &blk, c0, keys, need_mask, segk);
            for (int32_t j = 0; j < keys; ++j) {
                float* restrict dkr = dk_acc + (int64_t)j * d;
                float* restrict dvr = dv_acc + (int64_t)j * d;
                for (int32_t i = 0; i < blk.rows; ++i) {
                    const int64_t at = i * p->q_token_stride;
                    sn_axpy(dvr, s.s[(int64_t)i * ldk + j], blk.dout + at, d);
                    sn_axpy(dkr, s.ds[(int64_t)i * ldk + j], blk.q + at, d);
                }
            }
        }
    }

    float* dk = bp->dk + kv_at;
    float* dv = bp->dv + kv_at;
    for (int32_t j = 0; j < keys; ++j) {
        float* restrict dkr = dk + j * p->kv_token_stride;
        float* restrict dvr = dv + j * p->kv_token_stride;
        const float* restrict ka = dk_acc + (int64_t)j * d;
        const float* restrict va = dv_acc + (int64_t)j * d;
        for (int32_t c = 0; c < d; ++c) {
            dkr[c] = p->scale * ka[c];
            dvr[c] = va[c];
        }
    }
}

const sn_backward_kernel SN_CAT(sn_backward_kernel_, SN_KERNEL_ID) = {
    SN_STR(SN_KERNEL_ID),
    sn_bwd_scratch_bytes,
    sn_dq_item,
    sn_dkv_item,
};
