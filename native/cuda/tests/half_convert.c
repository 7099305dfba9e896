#include "half_convert.h"

#include <math.h>
#include <string.h>

static uint32_t bits_of(float x) { uint32_t u; memcpy(&u, &x, 4); return u; }
static float float_of(uint32_t u) { float x; memcpy(&x, &u, 4); return x; }

uint16_t snc_float_to_f16(float x)
{
    const uint32_t u = bits_of(x);
    const uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    const float a = fabsf(x);
    if (isnan(x)) return (uint16_t)(sign | 0x7E00u);
    if (a >= 65520.0f) return (uint16_t)(sign | 0x7C00u); /* rounds to infinity */
    if (a < 6.103515625e-05f) {
        /* Subnormal (or zero): units of 2^-24, rounded to nearest even by rintf (default rounding mode). */
        return (uint16_t)(sign | (uint16_t)rintf(a * 16777216.0f));
    }
    const uint32_t au = bits_of(a);
    uint32_t exp = ((au >> 23) & 0xFFu) - 127u + 15u;
    uint32_t mant = au & 0x7FFFFFu;
    uint32_t half = (exp << 10) | (mant >> 13);
    const uint32_t rest = mant & 0x1FFFu;
    if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) ++half; /* may carry into the exponent: correct */
    return (uint16_t)(sign | half);
}

float snc_f16_to_float(uint16_t h)
{
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1Fu, mant = h & 0x3FFu;
    if (exp == 0) {
        const float v = (float)mant * 5.9604644775390625e-08f; /* 2^-24 */
        return sign ? -v : v;
    }
    if (exp == 31) return float_of(sign | 0x7F800000u | (mant << 13));
    return float_of(sign | ((exp - 15u + 127u) << 23) | (mant << 13));
}

uint16_t snc_float_to_bf16(float x)
{
    uint32_t u = bits_of(x);
    if (isnan(x)) return (uint16_t)((u >> 16) | 0x40u);
    u += 0x7FFFu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float snc_bf16_to_float(uint16_t h) { return float_of((uint32_t)h << 16); }
