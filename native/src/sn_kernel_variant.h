/* What every per-ISA kernel translation unit (sn_kernel.c, sn_backward_kernel.c) needs before its body: the
 * variant's name and vector width come from the compiler command line (native/CMakeLists.txt compiles each kernel
 * file once per ISA with -DSN_KERNEL_ID=... -DSN_VEC=...), and the token pasting that turns them into the
 * variant's function names. Included once per translation unit, after the kernel's own header. */
#ifndef SN_KERNEL_VARIANT_H
#define SN_KERNEL_VARIANT_H

#include <stdint.h>

#ifndef SN_KERNEL_ID
#  error "SN_KERNEL_ID must name the variant (generic, avx2, avx512)"
#endif
#ifndef SN_VEC
#  error "SN_VEC must give the variant's float vector width"
#endif

#define SN_CAT_(a, b) a##b
#define SN_CAT(a, b) SN_CAT_(a, b)
#define SN_STR_(a) #a
#define SN_STR(a) SN_STR_(a)

/* x rounded up to a multiple of m (m > 0; the callers' x are block sizes and row counts, far from INT32_MAX). */
static inline int32_t sn_round_up(int32_t x, int32_t m)
{
    return (x + m - 1) / m * m;
}

#endif /* SN_KERNEL_VARIANT_H */
