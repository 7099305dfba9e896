/* Validation of the CUDA library's arguments, in the CPU library's order, so that the same mistake gives
 * the same first complaint from either library. Host-side only: nothing here touches the device. */
#include "snc_validate.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "snc_error.h"
#include "sparse_native_cuda.h"

/* Largest element count whose byte count (at 4 bytes an element) fits int64_t and size_t. */
static int64_t snc_max_elements(void)
{
    uint64_t limit = (uint64_t)INT64_MAX;
    if ((uint64_t)SIZE_MAX < limit) limit = (uint64_t)SIZE_MAX;
    return (int64_t)(limit / 4);
}

/* a*b*c*d for non-negative factors, or -1 when it exceeds the limit (never wraps). */
static int64_t snc_product4(int64_t a, int64_t b, int64_t c, int64_t d)
{
    const int64_t limit = snc_max_elements();
    int64_t f[4] = { a, b, c, d }, r = 1;
    for (int i = 0; i < 4; ++i) {
        if (f[i] != 0 && r > limit / f[i]) return -1;
        r *= f[i];
    }
    return r;
}

size_t snc_dtype_size(int32_t dtype)
{
    switch (dtype) {
    case SNC_DTYPE_F32: return 4;
    case SNC_DTYPE_F16:
    case SNC_DTYPE_BF16: return 2;
    default: return 0;
    }
}

static const char* snc_dtype_name(int32_t dtype)
{
    return dtype == SNC_DTYPE_F32 ? "f32" : dtype == SNC_DTYPE_F16 ? "f16" : "bf16";
}

sn_status snc_validate_layout(const sn_layout* l, snc_layout_shape* shape, int64_t** list_base_out)
{
    *list_base_out = NULL;
    if (l == NULL) return snc_fail(SN_INVALID_ARGUMENT, "layout is NULL");
    const int32_t bs = l->block_size;
    if (bs != 16 && bs != 32 && bs != 64 && bs != 128)
        return snc_fail(SN_INVALID_LAYOUT, "layout->block_size = %d: must be 16, 32, 64 or 128", bs);
    if (l->query_blocks < 1)
        return snc_fail(SN_INVALID_LAYOUT, "layout->query_blocks = %d: must be >= 1", l->query_blocks);
    if (l->key_blocks < 1)
        return snc_fail(SN_INVALID_LAYOUT, "layout->key_blocks = %d: must be >= 1", l->key_blocks);
    /* The kernels index tokens as int32: block count * block size must fit. */
    if ((int64_t)l->query_blocks * bs > INT32_MAX || (int64_t)l->key_blocks * bs > INT32_MAX)
        return snc_fail(SN_INVALID_LAYOUT, "layout->query_blocks = %d / key_blocks = %d: too many blocks of %d",
                        l->query_blocks, l->key_blocks, bs);
    if (l->num_layouts < 1)
        return snc_fail(SN_INVALID_LAYOUT, "layout->num_layouts = %d: must be >= 1", l->num_layouts);
    if (l->reserved != 0) return snc_fail(SN_INVALID_LAYOUT, "layout->reserved = %d: must be 0", l->reserved);
    if (l->num_col_indices < 0)
        return snc_fail(SN_INVALID_LAYOUT, "layout->num_col_indices = %d: must be >= 0", l->num_col_indices);
    if (l->row_offsets == NULL) return snc_fail(SN_INVALID_LAYOUT, "layout->row_offsets is NULL");
    if (l->col_indices == NULL && l->num_col_indices != 0)
        return snc_fail(SN_INVALID_LAYOUT, "layout->col_indices is NULL but layout->num_col_indices = %d",
                        l->num_col_indices);

    int64_t* base = (int64_t*)malloc(sizeof(int64_t) * (size_t)l->num_layouts);
    if (base == NULL) return snc_fail(SN_OUT_OF_MEMORY, "layout: could not allocate %d list starts", l->num_layouts);
    const int64_t qb = l->query_blocks;
    int64_t start = 0;
    for (int32_t list = 0; list < l->num_layouts; ++list) {
        const int32_t* off = l->row_offsets + (int64_t)list * (qb + 1);
        base[list] = start;
        if (off[0] != 0) {
            free(base);
            return snc_fail(SN_INVALID_LAYOUT, "layout->row_offsets[%lld] = %d: list %d must start at 0",
                            (long long)((int64_t)list * (qb + 1)), off[0], list);
        }
        for (int64_t r = 0; r < qb; ++r) {
            if (off[r + 1] < off[r]) {
                free(base);
                return snc_fail(SN_INVALID_LAYOUT, "layout->row_offsets[%lld] = %d < previous %d (list %d, row %lld)",
                                (long long)((int64_t)list * (qb + 1) + r + 1), off[r + 1], off[r], list,
                                (long long)r);
            }
            if (start + off[r + 1] > l->num_col_indices) {
                free(base);
                return snc_fail(SN_INVALID_LAYOUT,
                                "layout->row_offsets of list %d reach %lld past layout->num_col_indices = %d", list,
                                (long long)(start + off[r + 1]), l->num_col_indices);
            }
            for (int64_t c = start + off[r]; c < start + off[r + 1]; ++c) {
                const int32_t col = l->col_indices[c];
                if (col < 0 || col >= l->key_blocks) {
                    free(base);
                    return snc_fail(SN_INVALID_LAYOUT, "layout->col_indices[%lld] = %d (list %d, row %lld): must be in [0, %d)",
                                    (long long)c, col, list, (long long)r, l->key_blocks);
                }
                if (c > start + off[r] && col <= l->col_indices[c - 1]) {
                    free(base);
                    return snc_fail(SN_INVALID_LAYOUT,
                                    "layout->col_indices[%lld] = %d (list %d, row %lld): not above the previous %d "
                                    "(columns must be strictly increasing)",
                                    (long long)c, col, list, (long long)r, l->col_indices[c - 1]);
                }
            }
        }
        start += off[qb];
    }
    if (start != l->num_col_indices) {
        free(base);
        return snc_fail(SN_INVALID_LAYOUT, "layout->num_col_indices = %d but the lists hold %lld blocks",
                        l->num_col_indices, (long long)start);
    }
    shape->block_size = bs;
    shape->query_blocks = l->query_blocks;
    shape->key_blocks = l->key_blocks;
    shape->num_layouts = l->num_layouts;
    shape->num_col_indices = l->num_col_indices;
    *list_base_out = base;
    return SN_OK;
}

static sn_status snc_check_dims(const sn_problem* p)
{
    const struct { const char* name; int32_t value; } dims[] = {
        { "batch", p->batch },           { "query_heads", p->query_heads },
        { "kv_heads", p->kv_heads },     { "query_length", p->query_length },
        { "key_length", p->key_length }, { "head_dim", p->head_dim },
    };
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; ++i)
        if (dims[i].value < 1)
            return snc_fail(SN_INVALID_ARGUMENT, "problem->%s = %d: must be >= 1", dims[i].name, dims[i].value);
    if (p->query_heads % p->kv_heads != 0)
        return snc_fail(SN_INVALID_ARGUMENT, "problem->query_heads = %d is not a multiple of problem->kv_heads = %d",
                        p->query_heads, p->kv_heads);
    if (p->format != SN_FORMAT_BHSD && p->format != SN_FORMAT_BSHD)
        return snc_fail(SN_INVALID_ARGUMENT, "problem->format = %d: must be 0 (SN_FORMAT_BHSD) or 1 (SN_FORMAT_BSHD)",
                        p->format);
    const int32_t known = SN_FLAG_CAUSAL | SN_FLAG_ALLOW_NON_FINITE;
    if ((p->flags & ~known) != 0)
        return snc_fail(SN_INVALID_ARGUMENT, "problem->flags = 0x%x: unknown bits 0x%x", (unsigned)p->flags,
                        (unsigned)(p->flags & ~known));
    if (!isfinite(p->scale))
        return snc_fail(SN_INVALID_ARGUMENT, "problem->scale = %g: must be finite",
                        (double)p->scale);
    if (p->num_threads < 0)
        return snc_fail(SN_INVALID_ARGUMENT, "problem->num_threads = %d: must be >= 0", p->num_threads);
    if ((p->query_segment_ids == NULL) != (p->key_segment_ids == NULL))
        return snc_fail(SN_INVALID_ARGUMENT, "problem->%s is NULL but problem->%s is not: give both or neither",
                        p->query_segment_ids == NULL ? "query_segment_ids" : "key_segment_ids",
                        p->query_segment_ids == NULL ? "key_segment_ids" : "query_segment_ids");
    return SN_OK;
}

/* What the compiled kernels cover (SN_UNSUPPORTED otherwise: valid by the contract, not by this backend). */
static sn_status snc_check_supported(const sn_problem* p, int32_t dtype, int32_t block_size)
{
    if (p->head_dim % 8 != 0)
        return snc_fail(SN_UNSUPPORTED, "problem->head_dim = %d: the CUDA kernels require a multiple of 8", p->head_dim);
    if (dtype == SNC_DTYPE_F32) {
        if (p->head_dim > 256)
            return snc_fail(SN_UNSUPPORTED, "problem->head_dim = %d: the f32 CUDA kernel supports at most 256",
                            p->head_dim);
        return SN_OK;
    }
    if (p->head_dim != 64 && p->head_dim != 128)
        return snc_fail(SN_UNSUPPORTED, "problem->head_dim = %d: the %s tensor-core kernel supports 64 and 128 "
                        "(use dtype f32 for other multiples of 8)", p->head_dim, snc_dtype_name(dtype));
    if (block_size != 64 && block_size != 128)
        return snc_fail(SN_UNSUPPORTED, "layout block_size = %d: the %s tensor-core kernel supports 64 and 128 "
                        "(use dtype f32 for 16 and 32)", block_size, snc_dtype_name(dtype));
    return SN_OK;
}

sn_status snc_validate_problem(const sn_problem* p, const snc_layout_shape* l, int32_t dtype, snc_params* params)
{
    if (p == NULL) return snc_fail(SN_INVALID_ARGUMENT, "problem is NULL");
    if (l == NULL) return snc_fail(SN_INVALID_ARGUMENT, "layout is NULL");
    if (snc_dtype_size(dtype) == 0)
        return snc_fail(SN_INVALID_ARGUMENT, "dtype = %d: must be 0 (SNC_DTYPE_F32), 1 (SNC_DTYPE_F16) or 2 (SNC_DTYPE_BF16)",
                        dtype);
    sn_status s = snc_check_dims(p);
    if (s != SN_OK) return s;
    const int32_t bs = l->block_size;
    const int64_t qb = ((int64_t)p->query_length + bs - 1) / bs, kb = ((int64_t)p->key_length + bs - 1) / bs;
    if (l->query_blocks != qb)
        return snc_fail(SN_INVALID_LAYOUT, "layout query_blocks = %d but problem->query_length = %d needs ceil(%d / %d) = %lld",
                        l->query_blocks, p->query_length, p->query_length, bs, (long long)qb);
    if (l->key_blocks != kb)
        return snc_fail(SN_INVALID_LAYOUT, "layout key_blocks = %d but problem->key_length = %d needs ceil(%d / %d) = %lld",
                        l->key_blocks, p->key_length, p->key_length, bs, (long long)kb);
    if (p->query_heads % l->num_layouts != 0)
        return snc_fail(SN_INVALID_LAYOUT, "layout num_layouts = %d does not divide problem->query_heads = %d",
                        l->num_layouts, p->query_heads);
    s = snc_check_supported(p, dtype, bs);
    if (s != SN_OK) return s;
    if (snc_product4(p->batch, p->query_heads, p->query_length, p->head_dim) < 0 ||
        snc_product4(p->batch, p->kv_heads, p->key_length, p->head_dim) < 0)
        return snc_fail(SN_BUFFER_TOO_SMALL, "problem: the tensor element counts overflow a 64-bit size");
    /* The grid is (query tiles, query heads, batch): y and z are limited to 65535 by CUDA. */
    if (p->batch > 65535 || p->query_heads > 65535)
        return snc_fail(SN_UNSUPPORTED, "problem->batch = %d / query_heads = %d: the CUDA grid allows at most 65535 each",
                        p->batch, p->query_heads);

    params->batch = p->batch;
    params->query_heads = p->query_heads;
    params->kv_heads = p->kv_heads;
    params->query_length = p->query_length;
    params->key_length = p->key_length;
    params->head_dim = p->head_dim;
    params->group = p->query_heads / p->kv_heads;
    params->block_size = bs;
    params->query_blocks = l->query_blocks;
    params->key_blocks = l->key_blocks;
    params->num_layouts = l->num_layouts;
    params->causal = (p->flags & SN_FLAG_CAUSAL) != 0;
    params->causal_offset = p->key_length - p->query_length; /* both in [1, 2^31): the difference fits */
    params->dtype = dtype;
    params->scale_log2 = p->scale * 1.44269504088896340736f;

    const int64_t d = p->head_dim;
    if (p->format == SN_FORMAT_BHSD) {
        params->q_token_stride = d;
        params->q_head_stride = (int64_t)p->query_length * d;
        params->q_batch_stride = (int64_t)p->query_heads * p->query_length * d;
        params->kv_token_stride = d;
        params->kv_head_stride = (int64_t)p->key_length * d;
        params->kv_batch_stride = (int64_t)p->kv_heads * p->key_length * d;
    } else {
        params->q_token_stride = (int64_t)p->query_heads * d;
        params->q_head_stride = d;
        params->q_batch_stride = (int64_t)p->query_length * p->query_heads * d;
        params->kv_token_stride = (int64_t)p->kv_heads * d;
        params->kv_head_stride = d;
        params->kv_batch_stride = (int64_t)p->key_length * p->kv_heads * d;
    }
    params->row_offsets = NULL;
    params->col_indices = NULL;
    params->list_base = NULL;
    params->query_segment_ids = p->query_segment_ids;
    params->key_segment_ids = p->key_segment_ids;
    params->q = params->k = params->v = NULL;
    params->out = NULL;
    params->lse = NULL;
    return SN_OK;
}

void snc_required_elements(const snc_params* p, int64_t* q_elems, int64_t* kv_elems, int64_t* lse_elems)
{
    *q_elems = (int64_t)p->batch * p->query_heads * p->query_length * p->head_dim;
    *kv_elems = (int64_t)p->batch * p->kv_heads * p->key_length * p->head_dim;
    *lse_elems = (int64_t)p->batch * p->query_heads * p->query_length;
}

static int snc_overlap(const void* a, int64_t a_bytes, const void* b, int64_t b_bytes)
{
    const uintptr_t a0 = (uintptr_t)a, b0 = (uintptr_t)b;
    return a0 < b0 + (uintptr_t)b_bytes && b0 < a0 + (uintptr_t)a_bytes;
}

static sn_status snc_check_overlaps(const snc_params* p, const void* q, const void* k, const void* v,
                                    const void* out, const float* lse)
{
    int64_t qe, kve, lsee;
    snc_required_elements(p, &qe, &kve, &lsee);
    const int64_t es = (int64_t)snc_dtype_size(p->dtype);
    const struct { const char* name; const void* ptr; int64_t bytes; } others[] = {
        { "q", q, qe * es }, { "k", k, kve * es }, { "v", v, kve * es }, { "lse", lse, lsee * 4 },
    };
    for (size_t i = 0; i < sizeof others / sizeof others[0]; ++i)
        if (others[i].ptr != NULL && snc_overlap(out, qe * es, others[i].ptr, others[i].bytes))
            return snc_fail(SN_INVALID_ARGUMENT, "out overlaps %s: the output must not share memory with an input or lse",
                            others[i].name);
    if (lse != NULL && (snc_overlap(lse, lsee * 4, q, qe * es) || snc_overlap(lse, lsee * 4, k, kve * es) ||
                        snc_overlap(lse, lsee * 4, v, kve * es)))
        return snc_fail(SN_INVALID_ARGUMENT, "lse overlaps q, k or v");
    return SN_OK;
}

sn_status snc_validate_device_pointers(const snc_params* p, const void* q, const void* k, const void* v,
                                       const void* out, const float* lse)
{
    const struct { const char* name; const void* ptr; } data[] = { { "q", q }, { "k", k }, { "v", v }, { "out", out } };
    for (size_t i = 0; i < sizeof data / sizeof data[0]; ++i) {
        if (data[i].ptr == NULL) return snc_fail(SN_INVALID_ARGUMENT, "%s is NULL", data[i].name);
        if (((uintptr_t)data[i].ptr & 15u) != 0)
            return snc_fail(SN_INVALID_ARGUMENT, "%s = %p: must be 16-byte aligned (the kernels load 16 bytes at a time)",
                            data[i].name, data[i].ptr);
    }
    if (lse != NULL && ((uintptr_t)lse & 3u) != 0)
        return snc_fail(SN_INVALID_ARGUMENT, "lse = %p: must be 4-byte aligned", (const void*)lse);
    return snc_check_overlaps(p, q, k, v, out, lse);
}

/* Index of the first NaN/infinity in n elements of dtype, or -1. */
static int64_t snc_first_non_finite(const void* data, int64_t n, int32_t dtype)
{
    if (dtype == SNC_DTYPE_F32) {
        const float* x = (const float*)data;
        for (int64_t i = 0; i < n; ++i)
            if (!isfinite(x[i])) return i;
        return -1;
    }
    /* Binary16: exponent bits 0x7C00 all set; bfloat16: 0x7F80 all set. */
    const uint16_t mask = dtype == SNC_DTYPE_F16 ? 0x7C00u : 0x7F80u;
    const uint16_t* x = (const uint16_t*)data;
    for (int64_t i = 0; i < n; ++i)
        if ((x[i] & mask) == mask) return i;
    return -1;
}

sn_status snc_validate_host_buffers(const snc_params* p, int32_t flags, const void* q, size_t q_len, const void* k,
                                    size_t k_len, const void* v, size_t v_len, const void* out, size_t out_len,
                                    const float* lse, size_t lse_len)
{
    int64_t qe, kve, lsee;
    snc_required_elements(p, &qe, &kve, &lsee);
    const struct { const char* name; const void* ptr; size_t len; int64_t need; } bufs[] = {
        { "q", q, q_len, qe }, { "k", k, k_len, kve }, { "v", v, v_len, kve }, { "out", out, out_len, qe },
    };
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; ++i) {
        if (bufs[i].ptr == NULL) return snc_fail(SN_INVALID_ARGUMENT, "%s is NULL", bufs[i].name);
        if ((uint64_t)bufs[i].len < (uint64_t)bufs[i].need)
            return snc_fail(SN_BUFFER_TOO_SMALL, "%s_len = %llu: the problem needs %lld elements", bufs[i].name,
                            (unsigned long long)bufs[i].len, (long long)bufs[i].need);
    }
    if (lse == NULL && lse_len != 0)
        return snc_fail(SN_INVALID_ARGUMENT, "lse is NULL but lse_len = %llu (must be 0)", (unsigned long long)lse_len);
    if (lse != NULL && (uint64_t)lse_len < (uint64_t)lsee)
        return snc_fail(SN_BUFFER_TOO_SMALL, "lse_len = %llu: the problem needs %lld elements",
                        (unsigned long long)lse_len, (long long)lsee);
    sn_status s = snc_check_overlaps(p, q, k, v, out, lse);
    if (s != SN_OK) return s;
    if ((flags & SN_FLAG_ALLOW_NON_FINITE) == 0) {
        const struct { const char* name; const void* ptr; int64_t n; } scan[] = { { "q", q, qe }, { "k", k, kve }, { "v", v, kve } };
        for (size_t i = 0; i < 3; ++i) {
            const int64_t at = snc_first_non_finite(scan[i].ptr, scan[i].n, p->dtype);
            if (at >= 0)
                return snc_fail(SN_NON_FINITE, "%s[%lld] is NaN or infinite (set SN_FLAG_ALLOW_NON_FINITE to skip this check)",
                                scan[i].name, (long long)at);
        }
    }
    return SN_OK;
}
