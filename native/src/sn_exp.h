/* Internal: exp(x) for x <= 0, written so that gcc/clang auto-vectorise loops that call it.
 *
 * Why not expf(): a libm call blocks vectorisation unless -ffast-math (which also assumes no infinities,
 * and the kernels use -infinity as the mask value) plus a vector math library are available, which
 * is not portable. This version is branch-free arithmetic and integer bit operations only.
 *
 * Method (Cephes expf): x = n*ln2 + r with |r| <= ln2/2, exp(r) by a degree-7 polynomial (relative
 * error about 1e-7, i.e. within 1-2 ulp of float), times 2^n assembled in the exponent field.
 * Inputs below -86 (including -infinity, the masked scores) return exactly 0: exp(-86) = 4.4e-38 is
 * below anything that can change a float sum whose largest term is exp(0) = 1, and flushing keeps 2^n
 * a normal number, so the bit trick stays valid. Inputs must not be NaN (results are then unspecified). */
#ifndef SN_EXP_H
#define SN_EXP_H

#include <stdint.h>
#include <string.h>

static inline float sn_exp_nonpositive(float x)
{
    const float lowest = -86.0f;
    const float xc = x < lowest ? lowest : x;
    /* n = round(xc / ln2): adding 1.5*2^23 rounds to an integer held in the low mantissa bits. */
    const float shifter = 12582912.0f;
    const float t = xc * 1.44269504088896341f + shifter;
    const float n = t - shifter;
    /* r = xc - n*ln2 in two steps (Cody-Waite) so that r keeps full precision. */
    float r = xc - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    /* Multiply by 2^n: add n to the exponent field. n is in [-124, 0] here, so p*2^n stays normal. */
    uint32_t tb;
    memcpy(&tb, &t, sizeof tb);
    const int32_t ni = (int32_t)(tb - 0x4b400000u);
    uint32_t pb;
    memcpy(&pb, &p, sizeof pb);
    pb += (uint32_t)ni << 23;
    float result;
    memcpy(&result, &pb, sizeof result);
    return x < lowest ? 0.0f : result;
}

#endif
