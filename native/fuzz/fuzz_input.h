/* A cursor over libFuzzer's bytes: each harness reads its fields in order; past the end every read is 0,
 * so short inputs are valid inputs too (they mean "all defaults"). Header-only, shared by the harnesses. */
#ifndef SN_FUZZ_INPUT_H
#define SN_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct fuzz_input {
    const uint8_t* data;
    size_t size, pos;
} fuzz_input;

static inline uint32_t fuzz_u32(fuzz_input* in, int bytes)
{
    uint32_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= (uint32_t)(in->pos < in->size ? in->data[in->pos++] : 0) << (8 * i);
    return v;
}

static inline uint8_t fuzz_u8(fuzz_input* in) { return (uint8_t)fuzz_u32(in, 1); }

/* Sizes and counts as a fuzzer should see them: mostly small, sometimes at the edges of int32 (and of what
 * multiplies past 2^31, 2^32, 2^63 with other fields), sometimes raw. `small` bounds the common case. */
static inline int32_t fuzz_dim(fuzz_input* in, int32_t small)
{
    static const int32_t edges[] = { 0, -1, 1, INT32_MAX, INT32_MIN, INT32_MAX - 1, 46341, 65536, 1 << 20,
                                     1 << 30, 3037000500 / 2, 1 << 24, 2147483647 / 8 + 1, -2147483647 };
    const uint8_t sel = fuzz_u8(in);
    if (sel < 224) return 1 + (int32_t)(sel % (uint32_t)small);
    if (sel < 248) return edges[(sel - 224) % (sizeof edges / sizeof edges[0])];
    return (int32_t)fuzz_u32(in, 4);
}

/* A length field: usually the required count plus a small signed delta, sometimes an edge value. */
static inline size_t fuzz_len(fuzz_input* in, size_t required)
{
    const uint8_t sel = fuzz_u8(in);
    if (sel < 160) return required;
    if (sel < 224) {
        const int delta = (int)(sel % 7) - 3;
        return delta < 0 && (size_t)(-delta) > required ? 0 : required + (size_t)(ptrdiff_t)delta;
    }
    static const size_t edges[] = { 0, 1, SIZE_MAX, SIZE_MAX / 2, SIZE_MAX / 4 + 1, (size_t)UINT32_MAX,
                                    (size_t)INT32_MAX + 1, (size_t)1 << 40 };
    return edges[(sel - 224) % (sizeof edges / sizeof edges[0])];
}

/* A float: mostly small finite values, sometimes NaN, infinities, huge or denormal values. */
static inline float fuzz_float(fuzz_input* in)
{
    const uint8_t sel = fuzz_u8(in);
    if (sel < 240) return ((float)sel - 120.0f) / 32.0f;
    static const float edges[] = { __builtin_nanf(""), __builtin_inff(), -__builtin_inff(), 3.0e38f, -3.0e38f,
                                   1e-45f, 1e20f, -1e20f };
    return edges[(sel - 240) % (sizeof edges / sizeof edges[0])];
}

#endif
