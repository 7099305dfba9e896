/* Internal: what the CUDA library checks beyond the shared validation (native/src/sn_validate.h, compiled into
 * this library too): the dtype, the limits of the compiled kernels, device pointers, and the NaN/infinity scan
 * of 16-bit host data. Pure C: compiled and unit tested without a CUDA toolkit. */
#ifndef SNC_VALIDATE_H
#define SNC_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "sn_validate.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes per element of a dtype, or 0 for an unknown dtype. */
size_t snc_dtype_size(int32_t dtype);

/* For a problem checked by sn_check_problem and a layout that fits it: the dtype and what the kernels support
 * (SN_UNSUPPORTED otherwise), then sn_plan_init. */
sn_status snc_plan_call(sn_plan* plan, const sn_problem* problem, const sn_layout_shape* layout, int32_t dtype);

/* Device data: q, k, v, out non-NULL and 16-byte aligned (the kernels load 16 bytes at a time), lse 4-byte
 * aligned, and no overlaps (sn_check_overlaps). */
sn_status snc_check_device_pointers(const sn_plan* plan, const void* q, const void* k, const void* v,
                                    const void* out, const float* lse);

/* The backward's device data: sn_check_backward_buffers (non-NULL, no gradient overlapping an input or
 * another gradient; the lengths are the plan's, the layout's arrays are on the device), then q, k, v, out,
 * dout, dq, dk, dv 16-byte aligned and lse 4-byte aligned. */
sn_status snc_check_backward_device_pointers(const sn_plan* plan, const sn_backward_buffers* buffers);

/* Host data: sn_check_buffers, sn_check_overlaps (with the host layout's arrays; layout may be NULL) and,
 * unless SN_FLAG_ALLOW_NON_FINITE, the NaN/infinity scan of q, k, v in their dtype. */
sn_status snc_check_host_buffers(const sn_plan* plan, int32_t flags, const void* q, size_t q_len, const void* k,
                                 size_t k_len, const void* v, size_t v_len, const void* out, size_t out_len,
                                 const float* lse, size_t lse_len, const sn_layout* layout);

#ifdef __cplusplus
}
#endif

#endif
