/* Internal: the per-ISA kernel table.
 *
 * sn_kernel.c is compiled once per instruction-set variant (see native/CMakeLists.txt) with
 * SN_KERNEL_ID naming the variant and SN_VEC its float vector width; each compilation defines one
 * `const sn_kernel sn_kernel_<id>`. sn_dispatch.c picks the best one the running CPU supports. */
#ifndef SN_KERNEL_H
#define SN_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "sn_plan.h"

typedef struct sn_kernel {
    const char* name;
    /* Bytes of scratch one thread needs for this plan (a multiple of 64). */
    size_t (*scratch_bytes)(const sn_plan* plan);
    /* Computes work item `item` (one query block of one head of one batch) into plan->out / plan->lse.
     * `scratch` is 64-byte aligned, scratch_bytes(plan) long, and owned by the calling thread. The
     * result depends only on the plan and the item, never on the thread or on earlier items. */
    void (*run_item)(const sn_plan* plan, void* scratch, int64_t item);
} sn_kernel;

extern const sn_kernel sn_kernel_generic;
#if defined(SN_HAVE_X86_VARIANTS)
extern const sn_kernel sn_kernel_avx2;
extern const sn_kernel sn_kernel_avx512;
#endif
#if defined(SN_HAVE_AVX512BF16_VARIANT)
extern const sn_kernel sn_kernel_avx512bf16;
#endif

/* The kernel for this process: the best the CPU supports, lowered by the environment variable
 * SPARSENATIVE_ISA=generic|avx2|avx512|avx512bf16 if set (used by the tests to exercise every variant).
 * Chosen once, thread-safely. */
const sn_kernel* sn_select_kernel(void);

#endif
