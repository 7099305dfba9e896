/* sn_merge_states: combine two partial attention results over disjoint key sets (SEMANTICS.md).
 * Memory-bound and cheap, so single-threaded; in-place operation (out == out_a, ...) is supported
 * because each row's weights are read before any of its outputs are written. */
#include <math.h>
#include <stdint.h>

#include "sn_checked.h"
#include "sn_error.h"
#include "sn_finite.h"
#include "sn_validate.h"

/* An output may alias an input only exactly (same pointer); any other overlap is refused. */
static sn_status sn_check_alias(const char* out_name, const void* out, int64_t out_count,
                                const char* in_name, const void* in, int64_t in_count, int exact_ok)
{
    if (exact_ok && out == in) return SN_OK;
    if (sn_ranges_overlap(out, out_count * (int64_t)sizeof(float), in, in_count * (int64_t)sizeof(float)))
        return sn_fail(SN_INVALID_ARGUMENT, "%s overlaps %s%s", out_name, in_name,
                       exact_ok ? " (only the very same pointer is allowed)" : "");
    return SN_OK;
}

static sn_status sn_merge_validate(int32_t batch, int32_t heads, int32_t length, int32_t head_dim,
                                   int32_t format, int32_t flags, const float* out_a, const float* lse_a,
                                   const float* out_b, const float* lse_b, const float* out, const float* lse,
                                   size_t out_len, size_t lse_len, int64_t* out_count, int64_t* lse_count)
{
    const struct { const char* name; int32_t value; } dims[] = {
        { "batch", batch }, { "heads", heads }, { "length", length }, { "head_dim", head_dim },
    };
    for (int i = 0; i < 4; ++i)
        if (dims[i].value < 1)
            return sn_fail(SN_INVALID_ARGUMENT, "%s = %d: must be >= 1", dims[i].name, dims[i].value);
    if (format != SN_FORMAT_BHSD && format != SN_FORMAT_BSHD)
        return sn_fail(SN_INVALID_ARGUMENT, "format = %d: must be 0 (SN_FORMAT_BHSD) or 1 (SN_FORMAT_BSHD)", format);
    if ((flags & ~SN_FLAG_ALLOW_NON_FINITE) != 0)
        return sn_fail(SN_INVALID_ARGUMENT, "flags = 0x%x: only SN_FLAG_ALLOW_NON_FINITE (0x%x) applies to a merge",
                       (unsigned)flags, (unsigned)SN_FLAG_ALLOW_NON_FINITE);
    *out_count = sn_product4(batch, heads, length, head_dim, sn_max_float_elements());
    if (*out_count < 0)
        return sn_fail(SN_INVALID_ARGUMENT,
                       "out size batch %d * heads %d * length %d * head_dim %d floats overflows a 64-bit byte count",
                       batch, heads, length, head_dim);
    *lse_count = (int64_t)batch * heads * length;

    const struct { const char* name; const void* p; } ptrs[] = {
        { "out_a", out_a }, { "lse_a", lse_a }, { "out_b", out_b }, { "lse_b", lse_b }, { "out", out }, { "lse", lse },
    };
    for (int i = 0; i < 6; ++i)
        if (ptrs[i].p == NULL) return sn_fail(SN_INVALID_ARGUMENT, "%s is NULL", ptrs[i].name);
    if ((uint64_t)out_len < (uint64_t)*out_count)
        return sn_fail(SN_BUFFER_TOO_SMALL, "out_len = %llu: out_a, out_b and out each need %lld elements",
                       (unsigned long long)out_len, (long long)*out_count);
    if ((uint64_t)lse_len < (uint64_t)*lse_count)
        return sn_fail(SN_BUFFER_TOO_SMALL, "lse_len = %llu: lse_a, lse_b and lse each need %lld elements",
                       (unsigned long long)lse_len, (long long)*lse_count);

    const int64_t on = *out_count, ln = *lse_count;
    sn_status st;
    if ((st = sn_check_alias("out", out, on, "out_a", out_a, on, 1)) != SN_OK ||
        (st = sn_check_alias("out", out, on, "out_b", out_b, on, 1)) != SN_OK ||
        (st = sn_check_alias("out", out, on, "lse_a", lse_a, ln, 0)) != SN_OK ||
        (st = sn_check_alias("out", out, on, "lse_b", lse_b, ln, 0)) != SN_OK ||
        (st = sn_check_alias("out", out, on, "lse", lse, ln, 0)) != SN_OK ||
        (st = sn_check_alias("lse", lse, ln, "lse_a", lse_a, ln, 1)) != SN_OK ||
        (st = sn_check_alias("lse", lse, ln, "lse_b", lse_b, ln, 1)) != SN_OK ||
        (st = sn_check_alias("lse", lse, ln, "out_a", out_a, on, 0)) != SN_OK ||
        (st = sn_check_alias("lse", lse, ln, "out_b", out_b, on, 0)) != SN_OK)
        return st;

    if ((flags & SN_FLAG_ALLOW_NON_FINITE) == 0) {
        const struct { const char* name; const float* p; int64_t n; int is_lse; } data[] = {
            { "out_a", out_a, on, 0 }, { "lse_a", lse_a, ln, 1 }, { "out_b", out_b, on, 0 }, { "lse_b", lse_b, ln, 1 },
        };
        for (int i = 0; i < 4; ++i) {
            const int64_t at = data[i].is_lse ? sn_find_nan_or_pos_inf(data[i].p, data[i].n)
                                              : sn_find_non_finite(data[i].p, data[i].n);
            if (at >= 0)
                return sn_fail(SN_NON_FINITE, "%s[%lld] = %g: %s (set SN_FLAG_ALLOW_NON_FINITE to skip this check)",
                               data[i].name, (long long)at, (double)data[i].p[at],
                               data[i].is_lse ? "an lse must be finite or -infinity" : "non-finite input");
        }
    }
    return SN_OK;
}

SN_API sn_status sn_merge_states(int32_t batch, int32_t heads, int32_t length, int32_t head_dim,
                                 int32_t format, int32_t flags,
                                 const float* out_a, const float* lse_a,
                                 const float* out_b, const float* lse_b,
                                 float* out, float* lse,
                                 size_t out_len, size_t lse_len)
{
    sn_clear_error();
    int64_t out_count, lse_count;
    sn_status st = sn_merge_validate(batch, heads, length, head_dim, format, flags, out_a, lse_a, out_b, lse_b,
                                     out, lse, out_len, lse_len, &out_count, &lse_count);
    if (st != SN_OK) return st;

    for (int64_t bh = 0; bh < (int64_t)batch * heads; ++bh) {
        const int64_t b = bh / heads, h = bh % heads;
        for (int64_t t = 0; t < length; ++t) {
            const int64_t r = bh * length + t;
            const int64_t row = format == SN_FORMAT_BSHD ? ((b * length + t) * heads + h) * head_dim
                                                         : r * head_dim;
            const float la = lse_a[r], lb = lse_b[r];
            const float m = la > lb ? la : lb;
            if (m == -INFINITY) { /* neither part saw a key */
                for (int64_t c = 0; c < head_dim; ++c) out[row + c] = 0.0f;
                lse[r] = -INFINITY;
                continue;
            }
            const float wa = expf(la - m), wb = expf(lb - m), sum = wa + wb;
            const float ca = wa / sum, cb = wb / sum;
            for (int64_t c = 0; c < head_dim; ++c) out[row + c] = ca * out_a[row + c] + cb * out_b[row + c];
            lse[r] = m + logf(sum);
        }
    }
    return SN_OK;
}
