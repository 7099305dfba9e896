/* Runtime choice of the kernel variant.
 *
 * Why runtime dispatch and not -march: a NuGet package ships one libsparsenative.so per RID and must
 * run on every CPU of that RID, so the library is compiled for the baseline ISA (x86-64 = SSE2;
 * aarch64 = NEON) and only sn_kernel.c is compiled again with -mavx2 -mfma and with AVX-512 flags.
 * Why not target_clones: it depends on ifunc (glibc only), gcc 12 does not support it on aarch64, it
 * clones one function at a time (the helpers would have to be inlined into it), and it gives no way
 * for the tests to force a lower variant. Separate compilations give each variant its own tuned vector
 * width (SN_VEC) too.
 *
 * Variants give results that differ in the last bits (FMA contraction, vector width), but any one
 * variant is deterministic: same input, same bits, for every thread count. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "sn_kernel.h"

static const sn_kernel* sn_selected;
static pthread_once_t sn_select_once = PTHREAD_ONCE_INIT;

#if defined(SN_HAVE_X86_VARIANTS)
/* F16C from CPUID leaf 1 (ECX bit 29): clang 16's __builtin_cpu_supports does not know "f16c". F16C works wherever
 * AVX does (the same register state), which the callers' AVX2/AVX-512 checks establish. */
static int sn_cpu_has_f16c(void)
{
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C) != 0;
}

/* __builtin_cpu_supports also checks that the OS saves the wider registers (XGETBV), so a CPU with
 * AVX-512 under an OS or hypervisor that disables it is correctly reported as not supporting it. */
static int sn_cpu_has_avx512(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && sn_cpu_has_f16c();
}

/* F16C (float16 rows) comes with every AVX2 CPU in practice; it is checked all the same. */
static int sn_cpu_has_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && sn_cpu_has_f16c();
}
#endif

#if defined(SN_HAVE_AVX512BF16_VARIANT)
/* AVX512_BF16 (vdpbf16ps), on top of the AVX-512 variant's set. */
static int sn_cpu_has_avx512bf16(void)
{
    return sn_cpu_has_avx512() && __builtin_cpu_supports("avx512bf16");
}
#endif

static void sn_select(void)
{
    /* Variants from best to worst; SPARSENATIVE_ISA names the best one allowed. */
    const sn_kernel* candidates[4];
    int supported[4];
    int count = 0;
#if defined(SN_HAVE_AVX512BF16_VARIANT)
    candidates[count] = &sn_kernel_avx512bf16;
    supported[count++] = sn_cpu_has_avx512bf16();
#endif
#if defined(SN_HAVE_X86_VARIANTS)
    candidates[count] = &sn_kernel_avx512;
    supported[count++] = sn_cpu_has_avx512();
    candidates[count] = &sn_kernel_avx2;
    supported[count++] = sn_cpu_has_avx2();
#endif
    candidates[count] = &sn_kernel_generic;
    supported[count++] = 1;

    int first = 0;
    const char* wanted = getenv("SPARSENATIVE_ISA");
    if (wanted != NULL && wanted[0] != '\0') {
        for (int i = 0; i < count; ++i)
            if (strcmp(wanted, candidates[i]->name) == 0) first = i;
    }
    for (int i = first; i < count; ++i) {
        if (supported[i]) {
            sn_selected = candidates[i];
            return;
        }
    }
    sn_selected = &sn_kernel_generic;
}

const sn_kernel* sn_select_kernel(void)
{
    pthread_once(&sn_select_once, sn_select);
    return sn_selected;
}
