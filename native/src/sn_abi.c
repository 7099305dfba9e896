/* Self-description for bindings: ABI version, struct layouts and a build summary.
 *
 * SN_TEST_ABI_MISMATCH (set only for the test libraries sparsenative_abi_bad_version and
 * sparsenative_abi_bad_layout, never for the shipped one) makes this file lie in a controlled way,
 * so that the managed loader's refusal of a mismatched library can be tested. */
#include <stddef.h>
#include <stdio.h>

#include <pthread.h>

#include "sn_build_config.h"
#include "sn_kernel.h"
#include "sparse_native.h"

#define SN_BAD_VERSION 1
#define SN_BAD_LAYOUT 2

SN_API int32_t sn_abi_version(void)
{
#if defined(SN_TEST_ABI_MISMATCH) && SN_TEST_ABI_MISMATCH == SN_BAD_VERSION
    return SN_ABI_VERSION + 1000;
#else
    return SN_ABI_VERSION;
#endif
}

static int32_t sn_report(int32_t size, const int32_t* fields, int32_t count, int32_t* size_out,
                         int32_t* offsets, int32_t max_offsets)
{
    if (size_out != NULL) *size_out = size;
    if (offsets != NULL)
        for (int32_t i = 0; i < count && i < max_offsets; ++i) offsets[i] = fields[i];
    return count;
}

SN_API int32_t sn_struct_layout(int32_t which, int32_t* size, int32_t* offsets, int32_t max_offsets)
{
    switch (which) {
    case SN_STRUCT_LAYOUT: {
        const int32_t f[] = {
            (int32_t)offsetof(sn_layout, block_size),      (int32_t)offsetof(sn_layout, query_blocks),
            (int32_t)offsetof(sn_layout, key_blocks),      (int32_t)offsetof(sn_layout, num_layouts),
            (int32_t)offsetof(sn_layout, num_col_indices), (int32_t)offsetof(sn_layout, reserved),
            (int32_t)offsetof(sn_layout, row_offsets),     (int32_t)offsetof(sn_layout, col_indices),
        };
        return sn_report((int32_t)sizeof(sn_layout), f, (int32_t)(sizeof f / sizeof f[0]), size, offsets, max_offsets);
    }
    case SN_STRUCT_PROBLEM: {
        int32_t f[] = {
            (int32_t)offsetof(sn_problem, batch),         (int32_t)offsetof(sn_problem, query_heads),
            (int32_t)offsetof(sn_problem, kv_heads),      (int32_t)offsetof(sn_problem, query_length),
            (int32_t)offsetof(sn_problem, key_length),    (int32_t)offsetof(sn_problem, head_dim),
            (int32_t)offsetof(sn_problem, format),        (int32_t)offsetof(sn_problem, flags),
            (int32_t)offsetof(sn_problem, scale),         (int32_t)offsetof(sn_problem, num_threads),
            (int32_t)offsetof(sn_problem, query_segment_ids), (int32_t)offsetof(sn_problem, key_segment_ids),
        };
        int32_t total = (int32_t)sizeof(sn_problem);
#if defined(SN_TEST_ABI_MISMATCH) && SN_TEST_ABI_MISMATCH == SN_BAD_LAYOUT
        /* As if a field had been inserted before the segment-id pointers. */
        f[10] += 8;
        f[11] += 8;
        total += 8;
#endif
        return sn_report(total, f, (int32_t)(sizeof f / sizeof f[0]), size, offsets, max_offsets);
    }
    default:
        return -1;
    }
}

static char sn_info[1024];
static pthread_once_t sn_info_once = PTHREAD_ONCE_INIT;

static void sn_make_info(void)
{
#if defined(SN_HAVE_X86_VARIANTS)
    const char* kernels = "avx512,avx2,generic";
#else
    const char* kernels = "generic";
#endif
    snprintf(sn_info, sizeof sn_info,
             "sparsenative %s abi=%d compiler=%s target=%s build=%s flags=%s kernel_flags=%s kernels=%s "
             "selected=%s threads=pthreads",
             SN_LIBRARY_VERSION, (int)sn_abi_version(), SN_COMPILER, SN_TARGET, SN_BUILD_TYPE, SN_BUILD_FLAGS,
             SN_KERNEL_FLAGS, kernels, sn_select_kernel()->name);
}

SN_API const char* sn_build_info(void)
{
    pthread_once(&sn_info_once, sn_make_info);
    return sn_info;
}
