/* Internal: everything a kernel needs for one call, flattened. Built on the host by snc_params_build()
 * (snc_validate.c) after validation and passed to the kernel BY VALUE (it lives in the kernel's constant
 * parameter space, so no device copy is needed). Plain C so that the validation can be compiled and unit
 * tested without a CUDA toolkit. */
#ifndef SNC_PARAMS_H
#define SNC_PARAMS_H

#include <stdint.h>

typedef struct snc_params {
    int32_t batch, query_heads, kv_heads, query_length, key_length, head_dim;
    int32_t group;            /* query_heads / kv_heads: query head h reads kv head h / group           */
    int32_t block_size, query_blocks, key_blocks, num_layouts;
    int32_t causal;           /* 1 if SN_FLAG_CAUSAL                                                     */
    int32_t causal_offset;    /* key_length - query_length: key j visible to query i iff j <= i + this  */
    int32_t dtype;            /* snc_dtype                                                               */
    float scale_log2;         /* scale * log2(e): scores are kept in base 2 so exp becomes exp2          */

    /* Device pointers. row_offsets: num_layouts * (query_blocks + 1); list_base: num_layouts starts of each
     * list in col_indices (64-bit: the total may pass 2^31 for long sequences with many heads). */
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

    /* Element strides (format-dependent) of batch, head and token; the channel stride is 1. */
    int64_t q_batch_stride, q_head_stride, q_token_stride; /* also out's                                */
    int64_t kv_batch_stride, kv_head_stride, kv_token_stride;
} snc_params;

#endif
