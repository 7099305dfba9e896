/* Internal: a validated attention call, flattened into what the kernels need. One struct for both libraries:
 * the CPU library's kernels read it from any thread; the CUDA library builds it on the host and passes it BY
 * VALUE to its kernels (constant parameter space), with device pointers. Built by sn_plan_init()
 * (sn_validate.c) after validation. Plain C, so that C++/CUDA sources can include it. */
#ifndef SN_PLAN_H
#define SN_PLAN_H

#include <stdint.h>

#include "sparse_native.h" /* sn_dtype */

typedef struct sn_plan {
    int32_t batch, query_heads, kv_heads, query_length, key_length, head_dim;
    int32_t group;            /* query_heads / kv_heads: query head h reads kv head h / group           */
    int32_t block_size, query_blocks, key_blocks, num_layouts;
    int32_t format;           /* sn_format                                                               */
    int32_t causal;           /* 1 if SN_FLAG_CAUSAL                                                     */
    int32_t causal_offset;    /* key_length - query_length (both in [1, 2^31): it fits): key j visible to
                                 query i iff j <= i + causal_offset                                      */
    int32_t dtype;            /* element type of q and out: an sn_dtype (= snc_dtype)                    */
    int32_t kv_dtype;         /* element type of k and v (the CUDA library: always dtype)                */
    float scale;              /* problem->scale, as given                                                */
    float scale_log2;         /* scale * log2(e), for kernels that keep scores in base 2 (exp -> exp2)  */

    /* Layout arrays (device pointers in the CUDA library). list_base: num_layouts starts of each list in
     * col_indices (64-bit: the total may pass 2^31 for long sequences with many heads). */
    const int32_t* row_offsets;
    const int32_t* col_indices;
    const int64_t* list_base;
    const int32_t* query_segment_ids; /* NULL or [batch, query_length]                                */
    const int32_t* key_segment_ids;   /* NULL or [batch, key_length]                                  */

    const void* q;
    const void* k;
    const void* v;
    void* out;
    float* lse;               /* NULL or [batch, query_heads, query_length]                              */

    /* Element strides (format-dependent) of the batch, head and token indices; the channel stride is 1. */
    int64_t q_batch_stride, q_head_stride, q_token_stride;  /* also out's                               */
    int64_t kv_batch_stride, kv_head_stride, kv_token_stride;

    int64_t q_count, kv_count, lse_count; /* elements of q and out, of k and v, of lse                  */
    int64_t work_items;       /* batch * query_heads * query_blocks                                     */
} sn_plan;

#endif
