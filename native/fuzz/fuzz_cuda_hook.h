/* The call under test for fuzz_cuda.c: the CUDA library's host side (built against its CPU emulation), without
 * running kernels. Each input's layout goes through snc_layout_create (validation and upload) and
 * snc_layout_destroy. The call itself is predicted with the internal checks snc_attention_forward_host makes, in
 * its order; a call they reject is made through the public entry point, which must fail with the same status
 * (and touch nothing: the buffers are as tight as for the CPU library). A call they accept is not run: the
 * emulated kernels are far too slow for a fuzzer (one CPU thread per CUDA thread). */
#include <stdlib.h>

#include "sn_error.h"
#include "snc_validate.h"
#include "sparse_native_cuda.h"

#define FUZZ_NAME "fuzz_cuda"
#define FUZZ_LAST_ERROR snc_last_error
#define FUZZ_COMPARE_THREADS 0

static sn_status fuzz_call(const sn_problem* p, const sn_layout* lay, const float* q, size_t q_len, const float* k,
                           size_t k_len, const float* v, size_t v_len, float* out, size_t out_len, float* lse,
                           size_t lse_len, size_t input_size)
{
    /* The element type from the input's length: F32, F16, BF16 (lengths count elements of it; the buffers hold
     * floats, so they are long enough for 2-byte elements too). */
    const int32_t dtype = (int32_t)(input_size % 3);

    snc_layout* uploaded = (snc_layout*)1;
    const sn_status created = snc_layout_create(lay, &uploaded);
    if ((created == SN_OK) != (uploaded != NULL)) abort(); /* a handle exactly on success */
    if (snc_layout_destroy(uploaded) != SN_OK) abort();

    sn_layout_shape shape;
    int64_t* list_base = NULL;
    sn_plan plan;
    sn_status predicted = sn_check_problem(p);
    if (predicted == SN_OK) predicted = sn_validate_layout(lay, p, &shape, &list_base);
    if (predicted == SN_OK) predicted = snc_plan_call(&plan, p, &shape, dtype);
    if (predicted == SN_OK)
        predicted = snc_check_host_buffers(&plan, p->flags, q, q_len, k, k_len, v, v_len, out, out_len, lse, lse_len, lay);
    free(list_base);
    if (predicted == SN_OK) {
        sn_clear_error();
        return SN_OK;
    }
    const sn_status actual = snc_attention_forward_host(p, lay, dtype, q, q_len, k, k_len, v, v_len, out, out_len,
                                                        lse, lse_len);
    if (actual != predicted) abort();
    return actual;
}
