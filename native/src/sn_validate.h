/* Internal: the one validation of an attention call, compiled into both libraries (libsparsenative and
 * libsparsenative_cuda), so that one mistake gets one status and one message from either. The CUDA library
 * adds only what is its own (dtypes, kernel limits, device pointers) on top (native/cuda/src/snc_validate.c).
 *
 * A call is checked in this order, so a caller with several mistakes always hears about the same one first:
 * the problem (sn_check_problem), the layout and its fit to the problem (sn_validate_layout), the buffers
 * (sn_check_buffers), overlaps (sn_check_overlaps), then the data scan (sn_check_finite_inputs).
 *
 * Which status for which fault (one status for one fault, in both libraries):
 *  SN_INVALID_ARGUMENT   a NULL `problem`, `layout` or buffer argument; a bad sn_problem field (size <= 0,
 *                        heads not dividing, format, flags, non-finite scale, threads, one segment array);
 *                        a shape whose byte count overflows 64 bits; overlapping outputs; an lse_len without lse
 *  SN_INVALID_LAYOUT     anything wrong inside the sn_layout, NULL arrays included, and its fit to the problem
 *                        (block counts vs lengths, num_layouts vs query_heads)
 *  SN_BUFFER_TOO_SMALL   only a *_len argument below what the shape needs
 *  SN_UNSUPPORTED        valid by the contract but not by the kernels (head_dim % 8 != 0 here; more limits in
 *                        the CUDA layer)
 *  SN_NON_FINITE         NaN or infinity found by the data scan, or finite inputs so large that a score
 *                        or the weighted sum of values could overflow float32 (sn_check_finite_inputs)
 * Every failure sets the thread-local message (sn_error.h) of the library the unit is compiled into. */
#ifndef SN_VALIDATE_H
#define SN_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "sn_plan.h"
#include "sparse_native.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The header fields of a validated layout: what each problem is checked against (the CUDA library keeps
 * it with an uploaded layout). */
typedef struct sn_layout_shape {
    int32_t block_size, query_blocks, key_blocks, num_layouts, num_col_indices;
} sn_layout_shape;

/* problem != NULL and every field of *problem, including the element counts' overflow. */
sn_status sn_check_problem(const sn_problem* problem);

/* layout != NULL and every field of *layout; when problem != NULL (already checked) also the layout's fit to
 * it, before the lists are read. Fills *shape; on success *list_base_out is a malloc'd array of num_layouts
 * starts of each list in col_indices (the caller frees it), on failure NULL. */
sn_status sn_validate_layout(const sn_layout* layout, const sn_problem* problem, sn_layout_shape* shape,
                             int64_t** list_base_out);

/* The fit of a validated layout to a checked problem: block counts vs lengths, num_layouts vs query_heads. */
sn_status sn_check_layout_fit(const sn_layout_shape* shape, const sn_problem* problem);

/* Fills every field of *plan but the data and layout pointers, from a checked problem and a layout that
 * fits it (the pointers are NULL; the caller sets them). */
void sn_plan_init(sn_plan* plan, const sn_problem* problem, const sn_layout_shape* shape, int32_t dtype);

/* q, k, v, out non-NULL and at least plan's counts long (in elements); lse NULL with lse_len 0, or long enough. */
sn_status sn_check_buffers(const sn_plan* plan, const void* q, size_t q_len, const void* k, size_t k_len,
                           const void* v, size_t v_len, const void* out, size_t out_len, const float* lse,
                           size_t lse_len);

/* Bytes per element of an sn_dtype, or 0 for a value that is not one. */
size_t sn_dtype_size(int32_t dtype);

/* SN_UNSUPPORTED (naming `what`) unless problem's four dtypes are SN_DTYPE_F32: for the calls that take float32 only. */
sn_status sn_check_float32_only(const sn_problem* problem, const char* what);

/* Neither output (out, lse) overlaps an input the call reads: q, k, v (elements of the plan's dtypes), the
 * plan's segment ids and, when layout != NULL, the layout's row_offsets and col_indices; nor out overlaps lse.
 * layout is NULL where the layout's arrays are not caller memory (the CUDA library's uploaded layouts). */
sn_status sn_check_overlaps(const sn_plan* plan, const void* q, const void* k, const void* v, const void* out,
                            const float* lse, const sn_layout* layout);

/* Finds the first NaN/infinity in n elements of data and stores its value in *value; or, when all are
 * finite, returns -1 and stores their largest magnitude in *value. */
typedef int64_t (*sn_non_finite_finder)(const void* data, int64_t n, double* value);

/* The finder for float32 data. */
int64_t sn_find_non_finite_f32(const void* data, int64_t n, double* value);

/* The finder for elements of an sn_dtype (float32 for any other value). */
sn_non_finite_finder sn_finder_for(int32_t dtype);

/* Scans q (elements of plan->dtype), k and v (plan->kv_dtype); the message names the tensor, index, coordinates and value. Then the range:
 * head_dim*max|q|*max|k|*max(1, |scale|*log2 e) and key_length*max|v| must not exceed FLT_MAX/2, or a
 * score or the weighted sum of values could overflow float32 in the kernels (SN_NON_FINITE, naming q, k
 * or v). */
sn_status sn_check_finite_inputs(const sn_plan* plan, const void* q, const void* k, const void* v);

/* The buffers of a backward call (sn_attention_backward), in its argument order. */
/* The backward's tensors: q, k, v, out, dout, dq, dk, dv of the plan's dtype (f32 in the CPU library; f32, f16
 * or bf16 in the CUDA library), lse always f32. Lengths count elements. */
typedef struct sn_backward_buffers {
    const void *q, *k, *v, *out;
    const float* lse;
    const void* dout;
    void *dq, *dk, *dv;
    size_t q_len, k_len, v_len, out_len, lse_len, dout_len, dq_len, dk_len, dv_len;
} sn_backward_buffers;

/* The backward's buffers, in argument order: each non-NULL (lse included) and at least plan's count long;
 * then that no gradient overlaps an input (q, k, v, out, lse, dout, the layout's row_offsets and col_indices,
 * the problem's segment ids) or another gradient; the tensors have `element_bytes` per element (lse 4).
 * `layout` has been validated against the plan. */
sn_status sn_check_backward_buffers(const sn_plan* plan, int64_t element_bytes, const sn_layout* layout,
                                    const sn_backward_buffers* b);

/* The backward's data scan with `find` for the tensors' type: q, k, v as sn_check_finite_inputs, then out and
 * dout finite, lse finite or -inf. */
sn_status sn_check_backward_finite(const sn_plan* plan, sn_non_finite_finder find, const sn_backward_buffers* b);

/* Nonzero if the byte ranges [a, a + a_bytes) and [b, b + b_bytes) intersect. */
int sn_ranges_overlap(const void* a, int64_t a_bytes, const void* b, int64_t b_bytes);

#ifdef __cplusplus
}
#endif

#endif
