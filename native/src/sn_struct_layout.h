/* The sizeof/offsetof report of the public structs behind sn_struct_layout() and snc_struct_layout()
 * (the CUDA library reuses sn_layout and sn_problem): one table, compiled into each library so that each
 * reports the layout its own compiler produced, which the managed loader compares with its mirrors.
 *
 * SN_TEST_ABI_MISMATCH == 2 (set only for the test libraries *_abi_bad_layout, never for a shipped one)
 * reports sn_problem as if a field had been inserted before the segment-id pointers. */
#ifndef SN_STRUCT_LAYOUT_H
#define SN_STRUCT_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "sparse_native.h"

static inline int32_t sn_report_struct(int32_t size, const int32_t* fields, int32_t count, int32_t* size_out,
                                       int32_t* offsets, int32_t max_offsets)
{
    if (size_out != NULL) *size_out = size;
    if (offsets != NULL)
        for (int32_t i = 0; i < count && i < max_offsets; ++i) offsets[i] = fields[i];
    return count;
}

static inline int32_t sn_describe_struct(int32_t which, int32_t* size, int32_t* offsets, int32_t max_offsets)
{
    switch (which) {
    case SN_STRUCT_LAYOUT: {
        const int32_t f[] = {
            (int32_t)offsetof(sn_layout, block_size),      (int32_t)offsetof(sn_layout, query_blocks),
            (int32_t)offsetof(sn_layout, key_blocks),      (int32_t)offsetof(sn_layout, num_layouts),
            (int32_t)offsetof(sn_layout, num_col_indices), (int32_t)offsetof(sn_layout, reserved),
            (int32_t)offsetof(sn_layout, row_offsets),     (int32_t)offsetof(sn_layout, col_indices),
        };
        return sn_report_struct((int32_t)sizeof(sn_layout), f, (int32_t)(sizeof f / sizeof f[0]), size, offsets,
                                max_offsets);
    }
    case SN_STRUCT_PROBLEM: {
        int32_t f[] = {
            (int32_t)offsetof(sn_problem, batch),         (int32_t)offsetof(sn_problem, query_heads),
            (int32_t)offsetof(sn_problem, kv_heads),      (int32_t)offsetof(sn_problem, query_length),
            (int32_t)offsetof(sn_problem, key_length),    (int32_t)offsetof(sn_problem, head_dim),
            (int32_t)offsetof(sn_problem, format),        (int32_t)offsetof(sn_problem, flags),
            (int32_t)offsetof(sn_problem, scale),         (int32_t)offsetof(sn_problem, num_threads),
            (int32_t)offsetof(sn_problem, query_segment_ids), (int32_t)offsetof(sn_problem, key_segment_ids),
            (int32_t)offsetof(sn_problem, q_dtype),       (int32_t)offsetof(sn_problem, k_dtype),
            (int32_t)offsetof(sn_problem, v_dtype),       (int32_t)offsetof(sn_problem, out_dtype),
        };
        int32_t total = (int32_t)sizeof(sn_problem);
#if defined(SN_TEST_ABI_MISMATCH) && SN_TEST_ABI_MISMATCH == 2
        for (int i = 10; i < 16; ++i) f[i] += 8;
        total += 8;
#endif
        return sn_report_struct(total, f, (int32_t)(sizeof f / sizeof f[0]), size, offsets, max_offsets);
    }
    default:
        return -1;
    }
}

#endif /* SN_STRUCT_LAYOUT_H */
