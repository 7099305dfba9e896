/* Internal: float16 and bfloat16 <-> float32 for the CPU kernels. Widening is exact; narrowing rounds to nearest,
 * ties to even, keeps NaN a (quiet) NaN and overflows to infinity. Plain C on the bits (every target); the
 * kernels' row loops add F16C where the variant is compiled with it (sn_half_rows.h). */
#ifndef SN_HALF_H
#define SN_HALF_H

#include <stdint.h>
#include <string.h>

static inline float sn_f32_of_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint32_t sn_bits_of_f32(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float sn_bf16_to_f32(uint16_t h)
{
    return sn_f32_of_bits((uint32_t)h << 16);
}

static inline float sn_f16_to_f32(uint16_t h)
{
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16, em = h & 0x7FFFu;
    if (em >= 0x7C00u) return sn_f32_of_bits(sign | 0x7F800000u | ((em & 0x3FFu) << 13)); /* inf, NaN */
    /* Exponent and fraction moved into place read as a float 2^112 too small (bias 15, not 127); the exact
     * product by 2^112 fixes normal and subnormal halves alike. */
    return sn_f32_of_bits(sign | sn_bits_of_f32(sn_f32_of_bits(em << 13) * 0x1p112f));
}

static inline uint16_t sn_f32_to_bf16(float f)
{
    const uint32_t u = sn_bits_of_f32(f);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 0x0040u);
    return (uint16_t)((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

static inline uint16_t sn_f32_to_f16(float f)
{
    uint32_t u = sn_bits_of_f32(f);
    const uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    u &= 0x7FFFFFFFu;
    if (u > 0x7F800000u) return (uint16_t)(sign | 0x7E00u | ((u >> 13) & 0x3FFu));
    if (u >= 0x477FF000u) return (uint16_t)(sign | 0x7C00u); /* from 65520 (the tie above 65504, odd) up: inf */
    if (u < 0x38800000u) {
        /* Below 2^-14: adding 0.5 puts the value where float32's ulp (2^-24) is float16's subnormal step, so the
         * FPU's own round-to-nearest-even does the rounding. */
        return (uint16_t)(sign | (sn_bits_of_f32(sn_f32_of_bits(u) + 0.5f) - 0x3F000000u));
    }
    /* Rebias the exponent (127 -> 15) and round the 13 dropped bits to nearest even. */
    u += (uint32_t)(15 - 127) * (1u << 23) + 0xFFFu + ((u >> 13) & 1u);
    return (uint16_t)(sign | (u >> 13));
}

#endif
