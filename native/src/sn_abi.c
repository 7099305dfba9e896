/* Self-description for bindings: ABI version, struct layouts and a build summary.
 *
 * SN_TEST_ABI_MISMATCH (set only for the test libraries sparsenative_abi_bad_version and
 * sparsenative_abi_bad_layout, never for the shipped one) makes this file lie in a controlled way,
 * so that the managed loader's refusal of a mismatched library can be tested. */
#include <stdio.h>

#include <pthread.h>

#include "sn_build_config.h"
#include "sn_kernel.h"
#include "sn_struct_layout.h"
#include "sparse_native.h"

#define SN_BAD_VERSION 1 /* SN_BAD_LAYOUT (2) is applied in sn_struct_layout.h */

SN_API int32_t sn_abi_version(void)
{
#if defined(SN_TEST_ABI_MISMATCH) && SN_TEST_ABI_MISMATCH == SN_BAD_VERSION
    return SN_ABI_VERSION + 1000;
#else
    return SN_ABI_VERSION;
#endif
}

SN_API int32_t sn_struct_layout(int32_t which, int32_t* size, int32_t* offsets, int32_t max_offsets)
{
    return sn_describe_struct(which, size, offsets, max_offsets);
}

static char sn_info[1024];
static pthread_once_t sn_info_once = PTHREAD_ONCE_INIT;

static void sn_make_info(void)
{
#if defined(SN_HAVE_AVX512BF16_VARIANT)
    const char* kernels = "avx512bf16,avx512,avx2,generic";
#elif defined(SN_HAVE_X86_VARIANTS)
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
