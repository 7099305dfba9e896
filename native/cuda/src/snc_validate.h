/* Internal: validation of the CUDA library's arguments (pure C: compiled and unit tested without CUDA).
 * The checks and their order follow the CPU library's sn_attention_forward (descriptions, scalar fields,
 * layout, buffers, overlaps, data scan), with the messages naming the argument and the value. */
#ifndef SNC_VALIDATE_H
#define SNC_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "snc_params.h"
#include "sparse_native.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The host-side facts of an uploaded layout that each call checks against its problem. */
typedef struct snc_layout_shape {
    int32_t block_size, query_blocks, key_blocks, num_layouts, num_col_indices;
} snc_layout_shape;

/* Bytes per element of a dtype, or 0 for an unknown dtype. */
size_t snc_dtype_size(int32_t dtype);

/* Checks *layout on its own (everything but the block counts against lengths) and fills *shape. On success
 * *list_base_out is a malloc'd array of num_layouts starts in col_indices (the caller frees it). */
sn_status snc_validate_layout(const sn_layout* layout, snc_layout_shape* shape, int64_t** list_base_out);

/* Checks the problem's scalar fields, the dtype and what the kernels support, and the layout's fit
 * (block counts, head divisibility). Fills everything in *params except the pointers. */
sn_status snc_validate_problem(const sn_problem* problem, const snc_layout_shape* layout, int32_t dtype,
                               snc_params* params);

/* Element counts the problem needs: q/out, k/v, lse. */
void snc_required_elements(const snc_params* params, int64_t* q_elems, int64_t* kv_elems, int64_t* lse_elems);

/* Checks non-NULL data pointers, 16-byte alignment (the kernels load 16 bytes at a time) and that out
 * overlaps none of q, k, v, lse. */
sn_status snc_validate_device_pointers(const snc_params* params, const void* q, const void* k, const void* v,
                                       const void* out, const float* lse);

/* Checks host buffer lengths (in elements) and, unless SN_FLAG_ALLOW_NON_FINITE, scans q, k, v for NaN and
 * infinity (in their dtype). */
sn_status snc_validate_host_buffers(const snc_params* params, int32_t flags, const void* q, size_t q_len,
                                    const void* k, size_t k_len, const void* v, size_t v_len, const void* out,
                                    size_t out_len, const float* lse, size_t lse_len);

#ifdef __cplusplus
}
#endif

#endif
