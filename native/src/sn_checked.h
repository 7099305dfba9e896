/* Internal: overflow-checked size arithmetic. Shapes are int32 but their products are not: a problem of
 * 2^31 x 2^31 x ... elements must be refused, not wrapped into a small, plausible-looking count. */
#ifndef SN_CHECKED_H
#define SN_CHECKED_H

#include <stddef.h>
#include <stdint.h>

/* The largest element count of a float buffer whose byte count fits int64_t, size_t and ptrdiff_t. */
static inline int64_t sn_max_float_elements(void)
{
    uint64_t limit = (uint64_t)INT64_MAX;
    if ((uint64_t)SIZE_MAX < limit) limit = (uint64_t)SIZE_MAX;
    if ((uint64_t)PTRDIFF_MAX < limit) limit = (uint64_t)PTRDIFF_MAX;
    return (int64_t)(limit / sizeof(float));
}

/* *result = a * b for a, b >= 0; returns 0 (leaving *result unchanged) if the product exceeds `limit`. */
static inline int sn_mul_within(int64_t a, int64_t b, int64_t limit, int64_t* result)
{
    if (a != 0 && b > limit / a) return 0;
    if (a * b > limit) return 0;
    *result = a * b;
    return 1;
}

/* The product of four non-negative factors, or -1 if it exceeds `limit`. */
static inline int64_t sn_product4(int64_t a, int64_t b, int64_t c, int64_t d, int64_t limit)
{
    int64_t ab, abc, abcd;
    if (!sn_mul_within(a, b, limit, &ab)) return -1;
    if (!sn_mul_within(ab, c, limit, &abc)) return -1;
    if (!sn_mul_within(abc, d, limit, &abcd)) return -1;
    return abcd;
}

#endif
