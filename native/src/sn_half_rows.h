/* Internal: rows of a tensor of any sn_dtype to and from float32, for the per-ISA kernel files. With F16C (the
 * AVX2 and AVX-512 variants) float16 uses vcvtph2ps / vcvtps2ph eight at a time; n is a multiple of 8 there
 * (head_dim % 8 == 0). Everything else is the scalar conversions of sn_half.h, which gcc vectorises. */
#ifndef SN_HALF_ROWS_H
#define SN_HALF_ROWS_H

#include <stdint.h>
#include <string.h>

#include "sn_half.h"
#include "sparse_native.h"

#if defined(__F16C__)
#  include <immintrin.h>
#endif

/* dst[0..n) = the n elements of src (an sn_dtype), widened exactly. */
static inline void sn_widen_row(float* restrict dst, const void* restrict src, int32_t dtype, int32_t n)
{
    if (dtype == SN_DTYPE_F32) {
        memcpy(dst, src, (size_t)n * sizeof(float));
    } else if (dtype == SN_DTYPE_BF16) {
        const uint16_t* restrict s = (const uint16_t*)src;
        for (int32_t i = 0; i < n; ++i) dst[i] = sn_bf16_to_f32(s[i]);
    } else {
        const uint16_t* restrict s = (const uint16_t*)src;
#if defined(__F16C__)
        for (int32_t i = 0; i + 8 <= n; i += 8)
            _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)(const void*)(s + i))));
#else
        for (int32_t i = 0; i < n; ++i) dst[i] = sn_f16_to_f32(s[i]);
#endif
    }
}

/* The n floats of src rounded once, to nearest even, into n elements of dst (an sn_dtype). */
static inline void sn_narrow_row(void* restrict dst, const float* restrict src, int32_t dtype, int32_t n)
{
    if (dtype == SN_DTYPE_F32) {
        memcpy(dst, src, (size_t)n * sizeof(float));
    } else if (dtype == SN_DTYPE_BF16) {
        uint16_t* restrict d = (uint16_t*)dst;
        for (int32_t i = 0; i < n; ++i) d[i] = sn_f32_to_bf16(src[i]);
    } else {
        uint16_t* restrict d = (uint16_t*)dst;
#if defined(__F16C__)
        for (int32_t i = 0; i + 8 <= n; i += 8)
            _mm_storeu_si128((__m128i*)(void*)(d + i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
#else
        for (int32_t i = 0; i < n; ++i) d[i] = sn_f32_to_f16(src[i]);
#endif
    }
}

#endif
