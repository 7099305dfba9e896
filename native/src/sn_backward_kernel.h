/* Internal: the backward pass's kernels (sn_backward_kernel.c, compiled once per ISA variant like
 * sn_kernel.c) and the plan they share.
 *
 * Two passes, each a set of independent work items, so that no gradient element is ever written by two
 * threads and no atomics are needed:
 *  dq    one item = one query block of one (batch, query head): walks the key blocks of its CSR row;
 *  dk/dv one item = one key block of one (batch, kv head): walks, for every query head of the kv head's
 *        group in order, the query blocks that list it (the layout's transpose, CSC).
 * Both recompute P = exp(scale q.k - lse) and dS = P (dO.v - D) per block, with D = dO.O per query row
 * computed the same way in both, so each item's result depends on the item only: bitwise identical for
 * every thread count. */
#ifndef SN_BACKWARD_KERNEL_H
#define SN_BACKWARD_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "sn_plan.h"

typedef struct sn_backward_plan {
    const sn_plan* plan;      /* q, k, v, lse and the layout's CSR lists                                 */
    const float* out;
    const float* dout;
    float* dq;
    float* dk;
    float* dv;
    /* The transpose of each list: list l's query blocks of key block kb are
     * csc_rows[list_base[l] + csc_offsets[l*(key_blocks+1) + kb] .. + csc_offsets[l*(key_blocks+1) + kb + 1]),
     * in increasing order. */
    const int32_t* csc_offsets;
    const int32_t* csc_rows;
    int64_t dq_items;         /* batch * query_heads * query_blocks                                      */
    int64_t dkv_items;        /* batch * kv_heads * key_blocks                                           */
} sn_backward_plan;

typedef struct sn_backward_kernel {
    const char* name;         /* the forward variant's name: generic, avx2, avx512                       */
    size_t (*scratch_bytes)(const sn_plan* plan); /* per thread, a multiple of 64, for either pass      */
    void (*dq_item)(const sn_backward_plan* plan, void* scratch, int64_t item);
    void (*dkv_item)(const sn_backward_plan* plan, void* scratch, int64_t item);
} sn_backward_kernel;

extern const sn_backward_kernel sn_backward_kernel_generic;
#if defined(SN_HAVE_X86_VARIANTS)
extern const sn_backward_kernel sn_backward_kernel_avx2;
extern const sn_backward_kernel sn_backward_kernel_avx512;
#endif
#if defined(SN_HAVE_AVX512BF16_VARIANT)
extern const sn_backward_kernel sn_backward_kernel_avx512bf16;
#endif

#endif
