/* The problem, buffer, overlap and data checks of an attention call (the layout's are in
 * sn_validate_layout.c); shared by both libraries. Every message names the argument or field and its value. */
#include "sn_validate.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "sn_checked.h"
#include "sn_error.h"
#include "sn_finite.h"

int sn_ranges_overlap(const void* a, int64_t a_bytes, const void* b, int64_t b_bytes)
{
    const uintptr_t a0 = (uintptr_t)a, b0 = (uintptr_t)b;
    return a0 < b0 + (uintptr_t)b_bytes && b0 < a0 + (uintptr_t)a_bytes;
}

sn_status sn_check_problem(const sn_problem* p)
{
    if (p == NULL) return sn_fail(SN_INVALID_ARGUMENT, "problem is NULL");
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
        return sn_fail(SN_INVALID_ARGUMENT, "problem->scale = %g: must be finite", (double)p->scale);
    if (p->num_threads < 0)
        return sn_fail(SN_INVALID_ARGUMENT, "problem->num_threads = %d: must be >= 0 (0 = one per CPU)",
                       p->num_threads);
    const struct { const char* name; int32_t value; } dtypes[] = {
        { "q_dtype", p->q_dtype }, { "k_dtype", p->k_dtype }, { "v_dtype", p->v_dtype }, { "out_dtype", p->out_dtype },
    };
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; ++i)
        if (sn_dtype_size(dtypes[i].value) == 0)
            return sn_fail(SN_INVALID_ARGUMENT,
                           "problem->%s = %d: must be 0 (SN_DTYPE_F32), 1 (SN_DTYPE_F16) or 2 (SN_DTYPE_BF16)",
                           dtypes[i].name, dtypes[i].value);
    if ((p->query_segment_ids == NULL) != (p->key_segment_ids == NULL))
        return sn_fail(SN_INVALID_ARGUMENT, "problem->%s is NULL but problem->%s is not: give both or neither",
                       p->query_segment_ids == NULL ? "query_segment_ids" : "key_segment_ids",
                       p->query_segment_ids == NULL ? "key_segment_ids" : "query_segment_ids");

    /* Element counts whose byte counts overflow are refused here, so that every later product fits.
     * lse and the segment ids are smaller than q and k, so they cannot overflow. */
    const int64_t limit = sn_max_float_elements();
    if (sn_product4(p->batch, p->query_heads, p->query_length, p->head_dim, limit) < 0)
        return sn_fail(SN_INVALID_ARGUMENT,
                       "q/out size batch %d * query_heads %d * query_length %d * head_dim %d floats "
                       "overflows a 64-bit byte count",
                       p->batch, p->query_heads, p->query_length, p->head_dim);
    if (sn_product4(p->batch, p->kv_heads, p->key_length, p->head_dim, limit) < 0)
        return sn_fail(SN_INVALID_ARGUMENT,
                       "k/v size batch %d * kv_heads %d * key_length %d * head_dim %d floats "
                       "overflows a 64-bit byte count",
                       p->batch, p->kv_heads, p->key_length, p->head_dim);
    return SN_OK;
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

size_t sn_dtype_size(int32_t dtype)
{
    return dtype == SN_DTYPE_F32 ? 4 : dtype == SN_DTYPE_F16 || dtype == SN_DTYPE_BF16 ? 2 : 0;
}

sn_status sn_check_float32_only(const sn_problem* p, const char* what)
{
    if (p->q_dtype != SN_DTYPE_F32 || p->k_dtype != SN_DTYPE_F32 || p->v_dtype != SN_DTYPE_F32 ||
        p->out_dtype != SN_DTYPE_F32)
        return sn_fail(SN_UNSUPPORTED,
                       "problem->q_dtype/k_dtype/v_dtype/out_dtype = %d/%d/%d/%d: %s takes float32 tensors only "
                       "(all four 0)",
                       p->q_dtype, p->k_dtype, p->v_dtype, p->out_dtype, what);
    return SN_OK;
}

void sn_plan_init(sn_plan* plan, const sn_problem* p, const sn_layout_shape* shape, int32_t dtype)
{
    plan->batch = p->batch;
    plan->query_heads = p->query_heads;
    plan->kv_heads = p->kv_heads;
    plan->query_length = p->query_length;
    plan->key_length = p->key_length;
    plan->head_dim = p->head_dim;
    plan->group = p->query_heads / p->kv_heads;
    plan->block_size = shape->block_size;
    plan->query_blocks = shape->query_blocks;
    plan->key_blocks = shape->key_blocks;
    plan->num_layouts = shape->num_layouts;
    plan->format = p->format;
    plan->causal = (p->flags & SN_FLAG_CAUSAL) != 0;
    plan->causal_offset = p->key_length - p->query_length;
    plan->dtype = dtype;
    plan->kv_dtype = dtype;
    plan->scale = p->scale;
    plan->scale_log2 = p->scale * 1.44269504088896340736f;
    plan->row_offsets = NULL;
    plan->col_indices = NULL;
    plan->list_base = NULL;
    plan->query_segment_ids = p->query_segment_ids;
    plan->key_segment_ids = p->key_segment_ids;
    plan->q = plan->k = plan->v = NULL;
    plan->out = NULL;
    plan->lse = NULL;
    sn_set_strides(p->format, p->query_heads, p->query_length, p->head_dim, &plan->q_batch_stride,
                   &plan->q_head_stride, &plan->q_token_stride);
    sn_set_strides(p->format, p->kv_heads, p->key_length, p->head_dim, &plan->kv_batch_stride,
                   &plan->kv_head_stride, &plan->kv_token_stride);
    plan->q_count = (int64_t)p->batch * p->query_heads * p->query_length * p->head_dim;
    plan->kv_count = (int64_t)p->batch * p->kv_heads * p->key_length * p->head_dim;
    plan->lse_count = (int64_t)p->batch * p->query_heads * p->query_length;
    plan->work_items = (int64_t)p->batch * p->query_heads * shape->query_blocks;
}

static sn_status sn_check_buffer(const char* name, const void* data, size_t len, int64_t need, const char* shape)
{
    if (data == NULL) return sn_fail(SN_INVALID_ARGUMENT, "%s is NULL", name);
    if ((uint64_t)len < (uint64_t)need)
        return sn_fail(SN_BUFFER_TOO_SMALL, "%s_len = %llu: %s needs %lld elements", name,
                       (unsigned long long)len, shape, (long long)need);
    return SN_OK;
}

sn_status sn_check_buffers(const sn_plan* p, const void* q, size_t q_len, const void* k, size_t k_len,
                           const void* v, size_t v_len, const void* out, size_t out_len, const float* lse,
                           size_t lse_len)
{
    static const char q_shape[] = "[batch, query_heads, query_length, head_dim]";
    static const char kv_shape[] = "[batch, kv_heads, key_length, head_dim]";
    sn_status st;
    if ((st = sn_check_buffer("q", q, q_len, p->q_count, q_shape)) != SN_OK ||
        (st = sn_check_buffer("k", k, k_len, p->kv_count, kv_shape)) != SN_OK ||
        (st = sn_check_buffer("v", v, v_len, p->kv_count, kv_shape)) != SN_OK ||
        (st = sn_check_buffer("out", out, out_len, p->q_count, q_shape)) != SN_OK)
        return st;
    if (lse == NULL && lse_len != 0)
        return sn_fail(SN_INVALID_ARGUMENT, "lse is NULL but lse_len = %llu: pass 0 when no lse is wanted",
                       (unsigned long long)lse_len);
    if (lse != NULL)
        return sn_check_buffer("lse", lse, lse_len, p->lse_count, "[batch, query_heads, query_length]");
    return SN_OK;
}

sn_status sn_check_overlaps(const sn_plan* p, const void* q, const void* k, const void* v, const void* out,
                            const float* lse, const sn_layout* layout)
{
    /* out and lse are written while every input is read (by other threads, and a work item reads the layout
     * and segment ids after earlier items wrote their outputs), so any overlap is a data race or worse. */
    const int64_t es = (int64_t)sn_dtype_size(p->dtype), kvs = (int64_t)sn_dtype_size(p->kv_dtype);
    const int64_t lse_bytes = p->lse_count * (int64_t)sizeof(float);
    const int64_t i32 = (int64_t)sizeof(int32_t);
    const struct { const char* name; const void* ptr; int64_t bytes; } inputs[] = {
        { "q", q, p->q_count * es },
        { "k", k, p->kv_count * kvs },
        { "v", v, p->kv_count * kvs },
        { "layout->row_offsets", layout != NULL ? layout->row_offsets : NULL,
          (int64_t)p->num_layouts * (p->query_blocks + 1) * i32 },
        { "layout->col_indices", layout != NULL ? layout->col_indices : NULL,
          layout != NULL ? (int64_t)layout->num_col_indices * i32 : 0 },
        { "problem->query_segment_ids", p->query_segment_ids, (int64_t)p->batch * p->query_length * i32 },
        { "problem->key_segment_ids", p->key_segment_ids, (int64_t)p->batch * p->key_length * i32 },
    };
    const struct { const char* name; const void* ptr; int64_t bytes; } outputs[] = {
        { "out", out, p->q_count * es }, { "lse", lse, lse_bytes },
    };
    for (size_t o = 0; o < sizeof outputs / sizeof outputs[0]; ++o) {
        if (outputs[o].ptr == NULL) continue;
        for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; ++i)
            if (inputs[i].ptr != NULL &&
                sn_ranges_overlap(outputs[o].ptr, outputs[o].bytes, inputs[i].ptr, inputs[i].bytes))
                return sn_fail(SN_INVALID_ARGUMENT, "%s overlaps %s: the output must be a separate buffer",
                               outputs[o].name, inputs[i].name);
    }
    if (lse != NULL && sn_ranges_overlap(out, p->q_count * es, lse, lse_bytes))
        return sn_fail(SN_INVALID_ARGUMENT, "out overlaps lse: the output must be a separate buffer");
    return SN_OK;
}

int64_t sn_find_non_finite_f32(const void* data, int64_t n, double* value)
{
    const float* x = (const float*)data;
    float top = 0.0f;
    const int64_t i = sn_scan_finite(x, n, &top);
    *value = i >= 0 ? (double)x[i] : (double)top;
    return i;
}

/* |x| of a finite binary16 or bfloat16 value given with its sign bit cleared. */
static double sn_magnitude_16(uint16_t bits, uint16_t exponent)
{
    if (exponent == 0x7F80u) { /* bfloat16: the top half of a float32 */
        const uint32_t wide = (uint32_t)bits << 16;
        float f;
        memcpy(&f, &wide, sizeof f);
        return (double)f;
    }
    const int e = (bits >> 10) & 0x1F, m = bits & 0x3FF; /* binary16: 5 exponent bits, bias 15 */
    return e == 0 ? ldexp((double)m, -24) : ldexp((double)(m + 1024), e - 25);
}

/* The first NaN/infinity among n binary16 (exponent bits 0x7C00) or bfloat16 (0x7F80) values, or -1 with
 * the largest magnitude in *value (sn_non_finite_finder's contract). */
static int64_t sn_find_non_finite_16(const void* data, int64_t n, uint16_t exponent, double* value)
{
    const uint16_t* x = (const uint16_t*)data;
    uint16_t top = 0;
    for (int64_t i = 0; i < n; ++i) {
        if ((x[i] & exponent) == exponent) {
            const int nan = (x[i] & (uint16_t)~(exponent | 0x8000u)) != 0;
            *value = nan ? (double)NAN : (x[i] & 0x8000u) ? -(double)INFINITY : (double)INFINITY;
            return i;
        }
        const uint16_t magnitude = (uint16_t)(x[i] & 0x7FFFu);
        top = magnitude > top ? magnitude : top;
    }
    *value = sn_magnitude_16(top, exponent);
    return -1;
}

static int64_t sn_find_non_finite_f16(const void* data, int64_t n, double* value)
{
    return sn_find_non_finite_16(data, n, 0x7C00u, value);
}

static int64_t sn_find_non_finite_bf16(const void* data, int64_t n, double* value)
{
    return sn_find_non_finite_16(data, n, 0x7F80u, value);
}

sn_non_finite_finder sn_finder_for(int32_t dtype)
{
    return dtype == SN_DTYPE_F16 ? sn_find_non_finite_f16 : dtype == SN_DTYPE_BF16 ? sn_find_non_finite_bf16
                                                                                  : sn_find_non_finite_f32;
}

/* Finite inputs can still overflow float32 inside the kernel, where the answer is finite: a score
 * q.k (scaled by scale*log2 e before or after the sum, whichever a backend does) or the unnormalised
 * sum of up to key_length values weighted by at most 1. Both are bounded from the largest magnitudes
 * (|q.k| <= head_dim * max|q| * max|k|); half of FLT_MAX leaves room for the subtraction of the
 * running max. Beyond these bounds the call is refused rather than answered with NaN or a wrong 0.
 * The bounds lie far beyond any trained model's activations (|q|, |k| of order 1e18 at head_dim 128). */
static sn_status sn_check_input_range(const sn_plan* p, double max_q, double max_k, double max_v)
{
    const double limit = FLT_MAX / 2.0;
    const double log2e = 1.44269504088896340736;
    const double factor = fabs((double)p->scale) * log2e > 1.0 ? fabs((double)p->scale) * log2e : 1.0;
    const double score = (double)p->head_dim * max_q * max_k * factor;
    if (score > limit || max_q * factor > limit)
        return sn_fail(SN_NON_FINITE,
                       "q, k: max|q| = %g, max|k| = %g, head_dim = %lld, scale = %g: scores can reach %g and "
                       "overflow float32 (the bound head_dim*max|q|*max|k|*max(1, |scale|*log2 e) must not exceed "
                       "%g); scale q or k down (or set SN_FLAG_ALLOW_NON_FINITE to skip this check)",
                       max_q, max_k, (long long)p->head_dim, (double)p->scale, score, limit);
    if ((double)p->key_length * max_v > limit)
        return sn_fail(SN_NON_FINITE,
                       "v: max|v| = %g over key_length = %lld keys: the weighted sum can overflow float32 (the bound "
                       "key_length*max|v| must not exceed %g); scale v down (or set SN_FLAG_ALLOW_NON_FINITE to skip "
                       "this check)",
                       max_v, (long long)p->key_length, limit);
    return SN_OK;
}

sn_status sn_check_finite_inputs(const sn_plan* p, const void* q, const void* k, const void* v)
{
    const struct { const char* name; const void* data; int64_t count, heads, length; int32_t dtype; } inputs[] = {
        { "q", q, p->q_count, p->query_heads, p->query_length, p->dtype },
        { "k", k, p->kv_count, p->kv_heads, p->key_length, p->kv_dtype },
        { "v", v, p->kv_count, p->kv_heads, p->key_length, p->kv_dtype },
    };
    double max_magnitude[3];
    for (size_t n = 0; n < 3; ++n) {
        double value = 0.0;
        const int64_t i = sn_finder_for(inputs[n].dtype)(inputs[n].data, inputs[n].count, &value);
        if (i < 0) {
            max_magnitude[n] = value;
            continue;
        }
        int64_t b, h, t, c;
        sn_coordinates(p->format, inputs[n].heads, inputs[n].length, p->head_dim, i, &b, &h, &t, &c);
        return sn_fail(SN_NON_FINITE,
                       "%s[%lld] (batch %lld, head %lld, token %lld, channel %lld) = %g: non-finite input "
                       "(set SN_FLAG_ALLOW_NON_FINITE to skip this check)",
                       inputs[n].name, (long long)i, (long long)b, (long long)h, (long long)t, (long long)c, value);
    }
    return sn_check_input_range(p, max_magnitude[0], max_magnitude[1], max_magnitude[2]);
}

sn_status sn_check_backward_buffers(const sn_plan* p, int64_t element_bytes, const sn_layout* layout,
                                    const sn_backward_buffers* b)
{
    static const char q_shape[] = "[batch, query_heads, query_length, head_dim]";
    static const char kv_shape[] = "[batch, kv_heads, key_length, head_dim]";
    const struct { const char* name; const void* data; size_t len; int64_t need; const char* shape; } lengths[] = {
        { "q", b->q, b->q_len, p->q_count, q_shape },       { "k", b->k, b->k_len, p->kv_count, kv_shape },
        { "v", b->v, b->v_len, p->kv_count, kv_shape },     { "out", b->out, b->out_len, p->q_count, q_shape },
        { "lse", b->lse, b->lse_len, p->lse_count, "[batch, query_heads, query_length]" },
        { "dout", b->dout, b->dout_len, p->q_count, q_shape }, { "dq", b->dq, b->dq_len, p->q_count, q_shape },
        { "dk", b->dk, b->dk_len, p->kv_count, kv_shape },  { "dv", b->dv, b->dv_len, p->kv_count, kv_shape },
    };
    sn_status st;
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; ++i)
        if ((st = sn_check_buffer(lengths[i].name, lengths[i].data, lengths[i].len, lengths[i].need,
                                  lengths[i].shape)) != SN_OK)
            return st;

    /* The gradients are written while everything else is read (by other threads): any overlap would be a
     * data race, and one gradient overlapping another would mix them. Byte counts cannot overflow: each is
     * at most a checked q/k element count times 4. */
    const int64_t f = (int64_t)sizeof(float), i32 = (int64_t)sizeof(int32_t);
    const int64_t q_bytes = p->q_count * element_bytes, kv_bytes = p->kv_count * element_bytes;
    const struct { const char* name; const void* ptr; int64_t bytes; } inputs[] = {
        { "q", b->q, q_bytes },
        { "k", b->k, kv_bytes },
        { "v", b->v, kv_bytes },
        { "out", b->out, q_bytes },
        { "lse", b->lse, p->lse_count * f },
        { "dout", b->dout, q_bytes },
        { "layout->row_offsets", layout->row_offsets, (int64_t)p->num_layouts * (p->query_blocks + 1) * i32 },
        { "layout->col_indices", layout->col_indices, (int64_t)layout->num_col_indices * i32 },
        { "problem->query_segment_ids", p->query_segment_ids, (int64_t)p->batch * p->query_length * i32 },
        { "problem->key_segment_ids", p->key_segment_ids, (int64_t)p->batch * p->key_length * i32 },
    };
    const struct { const char* name; const void* ptr; int64_t bytes; } outputs[] = {
        { "dq", b->dq, q_bytes }, { "dk", b->dk, kv_bytes }, { "dv", b->dv, kv_bytes },
    };
    for (size_t o = 0; o < 3; ++o) {
        for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; ++i)
            if (inputs[i].ptr != NULL && sn_ranges_overlap(outputs[o].ptr, outputs[o].bytes, inputs[i].ptr, inputs[i].bytes))
                return sn_fail(SN_INVALID_ARGUMENT, "%s overlaps %s: each gradient must be a separate buffer",
                               outputs[o].name, inputs[i].name);
        for (size_t other = o + 1; other < 3; ++other)
            if (sn_ranges_overlap(outputs[o].ptr, outputs[o].bytes, outputs[other].ptr, outputs[other].bytes))
                return sn_fail(SN_INVALID_ARGUMENT, "%s overlaps %s: each gradient must be a separate buffer",
                               outputs[o].name, outputs[other].name);
    }
    return SN_OK;
}

sn_status sn_check_backward_finite(const sn_plan* p, sn_non_finite_finder find, const sn_backward_buffers* b)
{
    sn_status st = sn_check_finite_inputs(p, b->q, b->k, b->v);
    if (st != SN_OK) return st;
    const struct { const char* name; const void* data; } rows[] = { { "out", b->out }, { "dout", b->dout } };
    for (size_t n = 0; n < 2; ++n) {
        double value = 0.0;
        const int64_t i = find(rows[n].data, p->q_count, &value);
        if (i < 0) continue;
        int64_t bb, h, t, c;
        sn_coordinates(p->format, p->query_heads, p->query_length, p->head_dim, i, &bb, &h, &t, &c);
        return sn_fail(SN_NON_FINITE,
                       "%s[%lld] (batch %lld, head %lld, token %lld, channel %lld) = %g: non-finite input "
                       "(set SN_FLAG_ALLOW_NON_FINITE to skip this check)",
                       rows[n].name, (long long)i, (long long)bb, (long long)h, (long long)t, (long long)c, value);
    }
    const int64_t i = sn_find_nan_or_pos_inf(b->lse, p->lse_count);
    if (i >= 0)
        return sn_fail(SN_NON_FINITE,
                       "lse[%lld] = %g: must be finite or -inf (set SN_FLAG_ALLOW_NON_FINITE to skip this check)",
                       (long long)i, (double)b->lse[i]);
    return SN_OK;
}
