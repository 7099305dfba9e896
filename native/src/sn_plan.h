/* Internal: a validated attention problem, flattened into what the kernels need.
 * Built once per call by sn_plan_build() (sn_validate.c); the kernels only read it, from any thread. */
#ifndef SN_PLAN_H
#define SN_PLAN_H

#include <stdint.h>

typedef struct sn_plan {
    int32_t batch, query_heads, kv_heads, query_length, key_length, head_dim;
    int32_t group;           /* query_heads / kv_heads: query head h reads kv head h / group          */
    int32_t block_size, query_blocks, key_blocks, num_layouts;
    int32_t causal;          /* 1 if SN_FLAG_CAUSAL                                                    */
    int64_t causal_offset;   /* key_length - query_length: key j visible to query i iff j <= i + this */
    float scale;             /* problem->scale, as given                                               */

    const int32_t* row_offsets;
    const int32_t* col_indices;
    int64_t* list_base;             /* [num_layouts]: where each list's columns start in col_indices        */
    const int32_t* query_segment_ids; /* NULL or [batch, query_length]                                 */
    const int32_t* key_segment_ids;   /* NULL or [batch, key_length]                                   */

    const float* q;
    const float* k;
    const float* v;
    float* out;
    float* lse;               /* may be NULL                                                            */

    /* Element strides (format-dependent) of the batch, head and token indices. The channel stride is 1. */
    int64_t q_batch_stride, q_head_stride, q_token_stride;  /* also used for out                        */
    int64_t kv_batch_stride, kv_head_stride, kv_token_stride;

    int64_t work_items;       /* batch * query_heads * query_blocks                                     */
} sn_plan;

#endif
