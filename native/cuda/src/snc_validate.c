/* The CUDA library's own checks, on top of the shared validation (sn_validate.h). Host-side only: nothing here
 * touches the device. */
#include "snc_validate.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "sn_error.h"
#include "sparse_native_cuda.h"

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

/* What the compiled kernels cover (head_dim % 8 is the shared rule, already checked). */
static sn_status snc_check_supported(const sn_problem* p, int32_t dtype, int32_t block_size)
{
    if (dtype == SNC_DTYPE_F32) {
        if (p->head_dim > 256)
            return sn_fail(SN_UNSUPPORTED, "problem->head_dim = %d: the f32 CUDA kernel supports at most 256",
                           p->head_dim);
    } else {
        if (p->head_dim != 64 && p->head_dim != 128)
            return sn_fail(SN_UNSUPPORTED, "problem->head_dim = %d: the %s tensor-core kernel supports 64 and 128 "
                           "(use dtype f32 for other multiples of 8)", p->head_dim, snc_dtype_name(dtype));
        if (block_size != 64 && block_size != 128)
            return sn_fail(SN_UNSUPPORTED, "layout->block_size = %d: the %s tensor-core kernel supports 64 and 128 "
                           "(use dtype f32 for 16 and 32)", block_size, snc_dtype_name(dtype));
    }
    /* The grid is (query tiles, query heads, batch): y and z are limited to 65535 by CUDA. */
    if (p->batch > 65535 || p->query_heads > 65535)
        return sn_fail(SN_UNSUPPORTED, "problem->batch = %d / query_heads = %d: the CUDA grid allows at most 65535 each",
                       p->batch, p->query_heads);
    return SN_OK;
}

sn_status snc_plan_call(sn_plan* plan, const sn_problem* problem, const sn_layout_shape* layout, int32_t dtype)
{
    const sn_status typed = sn_check_float32_only(problem, "the CUDA library (its dtype argument gives the type)");
    if (typed != SN_OK) return typed;
    if (snc_dtype_size(dtype) == 0)
        return sn_fail(SN_INVALID_ARGUMENT,
                       "dtype = %d: must be 0 (SNC_DTYPE_F32), 1 (SNC_DTYPE_F16) or 2 (SNC_DTYPE_BF16)", dtype);
    const sn_status s = snc_check_supported(problem, dtype, layout->block_size);
    if (s != SN_OK) return s;
    sn_plan_init(plan, problem, layout, dtype);
    return SN_OK;
}

typedef struct snc_named_pointer { const char* name; const void* ptr; } snc_named_pointer;

/* Each pointer non-NULL and 16-byte aligned (the kernels load 16 bytes at a time). */
static sn_status snc_check_aligned(const snc_named_pointer* data, size_t n)
{
    for (size_t i = 0; i < n; ++i) {
        if (data[i].ptr == NULL) return sn_fail(SN_INVALID_ARGUMENT, "%s is NULL", data[i].name);
        if (((uintptr_t)data[i].ptr & 15u) != 0)
            return sn_fail(SN_INVALID_ARGUMENT, "%s = %p: must be 16-byte aligned (the kernels load 16 bytes at a time)",
                           data[i].name, data[i].ptr);
    }
    return SN_OK;
}

static sn_status snc_check_lse_aligned(const float* lse)
{
    if (lse != NULL && ((uintptr_t)lse & 3u) != 0)
        return sn_fail(SN_INVALID_ARGUMENT, "lse = %p: must be 4-byte aligned", (const void*)lse);
    return SN_OK;
}

sn_status snc_check_device_pointers(const sn_plan* p, const void* q, const void* k, const void* v, const void* out,
                                    const float* lse)
{
    const snc_named_pointer data[] = { { "q", q }, { "k", k }, { "v", v }, { "out", out } };
    sn_status s = snc_check_aligned(data, sizeof data / sizeof data[0]);
    if (s == SN_OK) s = snc_check_lse_aligned(lse);
    if (s != SN_OK) return s;
    return sn_check_overlaps(p, q, k, v, out, lse, NULL); /* the layout is on the device */
}

sn_status snc_check_backward_device_pointers(const sn_plan* p, const sn_backward_buffers* b)
{
    /* Device memory has no caller-given lengths: each is taken as what the shape needs. The uploaded layout's
     * arrays are the library's own, so no layout arrays take part in the overlap check. */
    sn_backward_buffers sized = *b;
    sized.q_len = sized.out_len = sized.dout_len = sized.dq_len = (size_t)p->q_count;
    sized.k_len = sized.v_len = sized.dk_len = sized.dv_len = (size_t)p->kv_count;
    sized.lse_len = (size_t)p->lse_count;
    const sn_layout device_layout = { 0 };
    sn_status s = sn_check_backward_buffers(p, (int64_t)snc_dtype_size(p->dtype), &device_layout, &sized);
    if (s != SN_OK) return s;
    const snc_named_pointer data[] = { { "q", b->q },       { "k", b->k },   { "v", b->v },
                                       { "out", b->out },   { "dout", b->dout }, { "dq", b->dq },
                                       { "dk", b->dk },     { "dv", b->dv } };
    s = snc_check_aligned(data, sizeof data / sizeof data[0]);
    return s == SN_OK ? snc_check_lse_aligned(b->lse) : s;
}

sn_status snc_check_host_buffers(const sn_plan* p, int32_t flags, const void* q, size_t q_len, const void* k,
                                 size_t k_len, const void* v, size_t v_len, const void* out, size_t out_len,
                                 const float* lse, size_t lse_len, const sn_layout* layout)
{
    sn_status s = sn_check_buffers(p, q, q_len, k, k_len, v, v_len, out, out_len, lse, lse_len);
    if (s == SN_OK) s = sn_check_overlaps(p, q, k, v, out, lse, layout);
    if (s != SN_OK || (flags & SN_FLAG_ALLOW_NON_FINITE) != 0) return s;
    return sn_check_finite_inputs(p, q, k, v);
}
