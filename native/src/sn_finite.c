/* The finite scans run over every input element on every call, so they are written to vectorise:
 * a chunk is tested with integer bit operations only (no float compares, no early exit inside the
 * chunk, an OR-reduction over 32-bit lanes), and only a chunk that contains a bad value is rescanned
 * one element at a time to find its exact index for the message. */
#include "sn_finite.h"

#include <string.h>

#include "sparse_native.h"

#define SN_SCAN_CHUNK 1024
#define SN_EXP_MASK 0x7f800000u

static inline uint32_t sn_bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

/* The largest |x| of a chunk as bits (sign cleared): finite values order like their bit patterns, and
 * NaN/infinity (an all-ones exponent) lie above every finite one. An integer max reduction vectorises. */
static uint32_t sn_chunk_max_bits(const float* restrict x, int64_t n)
{
    uint32_t top = 0;
    for (int64_t i = 0; i < n; ++i) {
        const uint32_t u = sn_bits(x[i]) & 0x7fffffffu;
        top = u > top ? u : top;
    }
    return top;
}

/* Nonzero if any element has an all-ones exponent (NaN or infinity). */
static uint32_t sn_chunk_has_special(const float* restrict x, int64_t n)
{
    return sn_chunk_max_bits(x, n) >= SN_EXP_MASK;
}

int64_t sn_scan_finite(const float* x, int64_t n, float* max_magnitude)
{
    uint32_t top = 0;
    for (int64_t start = 0; start < n; start += SN_SCAN_CHUNK) {
        int64_t len = n - start < SN_SCAN_CHUNK ? n - start : SN_SCAN_CHUNK;
        const uint32_t chunk = sn_chunk_max_bits(x + start, len);
        if (chunk < SN_EXP_MASK) {
            top = chunk > top ? chunk : top;
            continue;
        }
        for (int64_t i = start; i < start + len; ++i)
            if ((sn_bits(x[i]) & SN_EXP_MASK) == SN_EXP_MASK) return i;
    }
    if (max_magnitude != NULL) memcpy(max_magnitude, &top, sizeof top);
    return -1;
}

int64_t sn_find_non_finite(const float* x, int64_t n)
{
    return sn_scan_finite(x, n, NULL);
}

int64_t sn_find_nan_or_pos_inf(const float* x, int64_t n)
{
    const uint32_t negative_infinity = 0xff800000u;
    for (int64_t start = 0; start < n; start += SN_SCAN_CHUNK) {
        int64_t len = n - start < SN_SCAN_CHUNK ? n - start : SN_SCAN_CHUNK;
        if (!sn_chunk_has_special(x + start, len)) continue;
        for (int64_t i = start; i < start + len; ++i) {
            uint32_t u = sn_bits(x[i]);
            if ((u & SN_EXP_MASK) == SN_EXP_MASK && u != negative_infinity) return i;
        }
    }
    return -1;
}

void sn_coordinates(int32_t format, int64_t heads, int64_t length, int64_t head_dim, int64_t index,
                    int64_t* b, int64_t* h, int64_t* t, int64_t* c)
{
    *c = index % head_dim;
    int64_t row = index / head_dim;
    if (format == SN_FORMAT_BSHD) {
        *h = row % heads;
        *t = (row / heads) % length;
        *b = row / heads / length;
    } else {
        *t = row % length;
        *h = (row / length) % heads;
        *b = row / length / heads;
    }
}
