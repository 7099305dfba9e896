/* Validation of sn_attention_forward's arguments, in a fixed order (pointers to the descriptions,
 * scalar fields, layout, buffers, overlaps, then the data scan) so that a caller with several mistakes
 * always hears about the same one first. Every message names the argument or field and its value. */
#include "sn_validate.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "sn_checked.h"
#include "sn_error.h"
#include "sn_finite.h"
#include "sn_validate_layout.h"

int sn_ranges_overlap(const void* a, int64_t a_count, const void* b, int64_t b_count)
{
    const uintptr_t a0 = (uintptr_t)a, b0 = (uintptr_t)b;
    const uintptr_t a1 = a0 + (uintptr_t)a_count * sizeof(float);
    const uintptr_t b1 = b0 + (uintptr_t)b_count * sizeof(float);
    return a0 < b1 && b0 < a1;
}

static sn_status sn_check_dims(const sn_problem* p)
{
    const struct { const char* name; int32_t value; } dims[] = {
        { "batch", p->batch },           { "query_heads", p->query_heads },
        { "kv_heads", p->kv_heads },     { "query_length", p->query_length },
        { "key_length", p->key_length }, { "head_dim", p->head_dim },
    };
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; ++i)
        if (dims[i].value < 1)
            return sn_fail(SN_INVALID_ARGUMENT, "problem->%s = %d: must be >= 1", dims[i].name, dims[i].value);
    if (p->query_heads % p->kv_heads != 0)
        return sn_fail(SN_INVALID_ARGUMENT, "problem->query_heads = %d is not a multiple of problem->kv_heads = %d",
                       p->query_heads, p->kv_heads);
    if (p->head_dim % 8 != 0)
        return sn_fail(SN_UNSUPPORTED,
                       "problem->head_dim = %d: the native kernels require a multiple of 8 "
                       "(the contract allows any head_dim >= 1; use the managed reference for it)",
                       p->head_dim);
    if (p->format != SN_FORMAT_BHSD && p->format != SN_FORMAT_BSHD)
        return sn_fail(SN_INVALID_ARGUMENT, "problem->format = %d: must be 0 (SN_FORMAT_BHSD) or 1 (SN_FORMAT_BSHD)",
                       p->format);
    const int32_t known = SN_FLAG_CAUSAL | SN_FLAG_ALLOW_NON_FINITE;
    if ((p->flags & ~known) != 0)
        return sn_fail(SN_INVALID_ARGUMENT, "problem->flags = 0x%x: unknown bits 0x%x", (unsigned)p->flags,
                       (unsigned)(p->flags & ~known));
    if (!isfinite(p->scale))
        return sn_fail(SN_INVALID_ARGUMENT, "problem->scale = %g: must be finite",
                       (double)p->scale);
    if (p->num_threads < 0)
        return sn_fail(SN_INVALID_ARGUMENT, "problem->num_threads = %d: must be >= 0 (0 = one per CPU)",
                       p->num_threads);
    if ((p->query_segment_ids == NULL) != (p->key_segment_ids == NULL))
        return sn_fail(SN_INVALID_ARGUMENT, "problem->%s is NULL but problem->%s is not: give both or neither",
                       p->query_segment_ids == NULL ? "query_segment_ids" : "key_segment_ids",
                       p->query_segment_ids == NULL ? "key_segment_ids" : "query_segment_ids");
    return SN_OK;
}

/* Element counts of q/out, k/v and lse, refusing shapes whose byte counts overflow. */
static sn_status sn_counts(const sn_problem* p, int64_t* q_count, int64_t* kv_count, int64_t* lse_count)
{
    const int64_t limit = sn_max_float_elements();
    *q_count = sn_product4(p->batch, p->query_heads, p->query_length, p->head_dim, limit);
    if (*q_count < 0)
        return sn_fail(SN_INVALID_ARGUMENT,
                       "q/out size batch %d * query_heads %d * query_length %d * head_dim %d floats "
                       "overflows a 64-bit byte count",
                       p->batch, p->query_heads, p->query_length, p->head_dim);
    *kv_count = sn_product4(p->batch, p->kv_heads, p->key_length, p->head_dim, limit);
    if (*kv_count < 0)
        return sn_fail(SN_INVALID_ARGUMENT,
                       "k/v size batch %d * kv_heads %d * key_length %d * head_dim %d floats "
                       "overflows a 64-bit byte count",
                       p->batch, p->kv_heads, p->key_length, p->head_dim);
    /* lse and the segment ids are smaller than q and k, so they cannot overflow. */
    *lse_count = (int64_t)p->batch * p->query_heads * p->query_length;
    return SN_OK;
}

static sn_status sn_check_buffer(const char* name, const void* data, size_t len, int64_t need,
                                 const char* shape)
{
    if (data == NULL) return sn_fail(SN_INVALID_ARGUMENT, "%s is NULL", name);
    if ((uint64_t)len < (uint64_t)need)
        return sn_fail(SN_BUFFER_TOO_SMALL, "%s_len = %llu: %s needs %lld elements", name,
                       (unsigned long long)len, shape, (long long)need);
    return SN_OK;
}

static sn_status sn_check_finite(const char* name, const float* x, int64_t count, int32_t format,
                                 int64_t heads, int64_t length, int64_t head_dim)
{
    const int64_t i = sn_find_non_finite(x, count);
    if (i < 0) return SN_OK;
    int64_t b, h, t, c;
    sn_coordinates(format, heads, length, head_dim, i, &b, &h, &t, &c);
    return sn_fail(SN_NON_FINITE,
                   "%s[%lld] (batch %lld, head %lld, token %lld, channel %lld) = %g: non-finite input "
                   "(set SN_FLAG_ALLOW_NON_FINITE to skip this check)",
                   name, (long long)i, (long long)b, (long long)h, (long long)t, (long long)c, (double)x[i]);
}

static void sn_set_strides(int32_t format, int64_t heads, int64_t length, int64_t head_dim,
                           int64_t* batch_stride, int64_t* head_stride, int64_t* token_stride)
{
    *batch_stride = heads * length * head_dim;
    if (format == SN_FORMAT_BSHD) {
        *head_stride = head_dim;
        *token_stride = heads * head_dim;
    } else {
        *head_stride = length * head_dim;
        *token_stride = head_dim;
    }
}

sn_status sn_plan_build(sn_plan* plan, const sn_problem* problem, const sn_layout* layout,
                        const float* q, size_t q_len, const float* k, size_t k_len,
                        const float* v, size_t v_len, float* out, size_t out_len,
                        float* lse, size_t lse_len)
{
    if (problem == NULL) return sn_fail(SN_INVALID_ARGUMENT, "problem is NULL");
    if (layout == NULL) return sn_fail(SN_INVALID_ARGUMENT, "layout is NULL");
    sn_status st = sn_check_dims(problem);
    if (st != SN_OK) return st;
    int64_t q_count = 0, kv_count = 0, lse_count = 0;
    if ((st = sn_counts(problem, &q_count, &kv_count, &lse_count)) != SN_OK) return st;

    if ((st = sn_check_buffer("q", q, q_len, q_count, "[batch, query_heads, query_length, head_dim]")) != SN_OK ||
        (st = sn_check_buffer("k", k, k_len, kv_count, "[batch, kv_heads, key_length, head_dim]")) != SN_OK ||
        (st = sn_check_buffer("v", v, v_len, kv_count, "[batch, kv_heads, key_length, head_dim]")) != SN_OK ||
        (st = sn_check_buffer("out", out, out_len, q_count, "[batch, query_heads, query_length, head_dim]")) != SN_OK)
        return st;
    if (lse == NULL && lse_len != 0)
        return sn_fail(SN_INVALID_ARGUMENT, "lse is NULL but lse_len = %llu: pass 0 when no lse is wanted",
                       (unsigned long long)lse_len);
    if (lse != NULL && (st = sn_check_buffer("lse", lse, lse_len, lse_count, "[batch, query_heads, query_length]")) != SN_OK)
        return st;

    /* out is written while q, k, v are read by other threads, so any overlap would be a data race. */
    const struct { const char* name; const void* p; int64_t n; } inputs[] = {
        { "q", q, q_count }, { "k", k, kv_count }, { "v", v, kv_count }, { "lse", lse, lse_count },
    };
    for (size_t i = 0; i < 4; ++i) {
        if (inputs[i].p != NULL && sn_ranges_overlap(out, q_count, inputs[i].p, inputs[i].n))
            return sn_fail(SN_INVALID_ARGUMENT, "out overlaps %s: the output must be a separate buffer", inputs[i].name);
        if (lse != NULL && i < 3 && sn_ranges_overlap(lse, lse_count, inputs[i].p, inputs[i].n))
            return sn_fail(SN_INVALID_ARGUMENT, "lse overlaps %s: the output must be a separate buffer", inputs[i].name);
    }

    int64_t* list_base = NULL;
    if ((st = sn_validate_layout(layout, problem->query_heads, problem->query_length, problem->key_length,
                                 &list_base)) != SN_OK)
        return st;

    if ((problem->flags & SN_FLAG_ALLOW_NON_FINITE) == 0) {
        const int32_t f = problem->format;
        if ((st = sn_check_finite("q", q, q_count, f, problem->query_heads, problem->query_length, problem->head_dim)) != SN_OK ||
            (st = sn_check_finite("k", k, kv_count, f, problem->kv_heads, problem->key_length, problem->head_dim)) != SN_OK ||
            (st = sn_check_finite("v", v, kv_count, f, problem->kv_heads, problem->key_length, problem->head_dim)) != SN_OK) {
            free(list_base);
            return st;
        }
    }

    plan->batch = problem->batch;
    plan->query_heads = problem->query_heads;
    plan->kv_heads = problem->kv_heads;
    plan->query_length = problem->query_length;
    plan->key_length = problem->key_length;
    plan->head_dim = problem->head_dim;
    plan->group = problem->query_heads / problem->kv_heads;
    plan->block_size = layout->block_size;
    plan->query_blocks = layout->query_blocks;
    plan->key_blocks = layout->key_blocks;
    plan->num_layouts = layout->num_layouts;
    plan->causal = (problem->flags & SN_FLAG_CAUSAL) != 0;
    plan->causal_offset = (int64_t)problem->key_length - problem->query_length;
    plan->scale = problem->scale;
    plan->row_offsets = layout->row_offsets;
    plan->col_indices = layout->col_indices;
    plan->list_base = list_base;
    plan->query_segment_ids = problem->query_segment_ids;
    plan->key_segment_ids = problem->key_segment_ids;
    plan->q = q;
    plan->k = k;
    plan->v = v;
    plan->out = out;
    plan->lse = lse;
    sn_set_strides(problem->format, problem->query_heads, problem->query_length, problem->head_dim,
                   &plan->q_batch_stride, &plan->q_head_stride, &plan->q_token_stride);
    sn_set_strides(problem->format, problem->kv_heads, problem->key_length, problem->head_dim,
                   &plan->kv_batch_stride, &plan->kv_head_stride, &plan->kv_token_stride);
    plan->work_items = (int64_t)problem->batch * problem->query_heads * layout->query_blocks;
    return SN_OK;
}

void sn_plan_release(sn_plan* plan)
{
    free(plan->list_base);
    plan->list_base = NULL;
}
