/* Validation of an sn_layout on its own and of its fit to a problem (SEMANTICS.md, "Block layout"); shared by
 * both libraries. Every message names the field, the index (with the list and row it belongs to) and the value. */
#include <stdlib.h>

#include "sn_error.h"
#include "sn_validate.h"

static int64_t sn_ceil_div(int64_t a, int64_t b)
{
    return (a + b - 1) / b;
}

sn_status sn_check_layout_fit(const sn_layout_shape* l, const sn_problem* p)
{
    const int32_t bs = l->block_size;
    const int64_t qb = sn_ceil_div(p->query_length, bs), kb = sn_ceil_div(p->key_length, bs);
    if (l->query_blocks != qb)
        return sn_fail(SN_INVALID_LAYOUT,
                       "layout->query_blocks = %d: must be ceil(query_length %d / block_size %d) = %lld",
                       l->query_blocks, p->query_length, bs, (long long)qb);
    if (l->key_blocks != kb)
        return sn_fail(SN_INVALID_LAYOUT,
                       "layout->key_blocks = %d: must be ceil(key_length %d / block_size %d) = %lld",
                       l->key_blocks, p->key_length, bs, (long long)kb);
    if (p->query_heads % l->num_layouts != 0)
        return sn_fail(SN_INVALID_LAYOUT, "layout->num_layouts = %d does not divide problem->query_heads = %d",
                       l->num_layouts, p->query_heads);
    return SN_OK;
}

sn_status sn_validate_layout(const sn_layout* layout, const sn_problem* problem, sn_layout_shape* shape,
                             int64_t** list_base_out)
{
    *list_base_out = NULL;
    if (layout == NULL) return sn_fail(SN_INVALID_ARGUMENT, "layout is NULL");
    const int32_t bs = layout->block_size;
    if (bs != 16 && bs != 32 && bs != 64 && bs != 128)
        return sn_fail(SN_INVALID_LAYOUT, "layout->block_size = %d: must be 16, 32, 64 or 128", bs);
    shape->block_size = bs;
    shape->query_blocks = layout->query_blocks;
    shape->key_blocks = layout->key_blocks;
    shape->num_layouts = layout->num_layouts;
    shape->num_col_indices = layout->num_col_indices;
    const int32_t lists = layout->num_layouts;
    if (lists < 1)
        return sn_fail(SN_INVALID_LAYOUT, "layout->num_layouts = %d: must be >= 1", lists);
    sn_status st;
    if (problem != NULL && (st = sn_check_layout_fit(shape, problem)) != SN_OK) return st;
    if (layout->query_blocks < 1)
        return sn_fail(SN_INVALID_LAYOUT, "layout->query_blocks = %d: must be >= 1", layout->query_blocks);
    if (layout->key_blocks < 1)
        return sn_fail(SN_INVALID_LAYOUT, "layout->key_blocks = %d: must be >= 1", layout->key_blocks);
    if (layout->reserved != 0)
        return sn_fail(SN_INVALID_LAYOUT, "layout->reserved = %d: must be 0", layout->reserved);
    const int64_t total = layout->num_col_indices;
    if (total < 0)
        return sn_fail(SN_INVALID_LAYOUT, "layout->num_col_indices = %lld: must be >= 0", (long long)total);
    if (layout->row_offsets == NULL)
        return sn_fail(SN_INVALID_LAYOUT, "layout->row_offsets is NULL");
    if (layout->col_indices == NULL && total > 0)
        return sn_fail(SN_INVALID_LAYOUT, "layout->col_indices is NULL but layout->num_col_indices = %lld",
                       (long long)total);
    const int64_t qb = layout->query_blocks; /* qb + 1 must not overflow */
    const int32_t kb = layout->key_blocks;

    int64_t* base = malloc(sizeof(int64_t) * (size_t)lists);
    if (base == NULL)
        return sn_fail(SN_OUT_OF_MEMORY, "could not allocate %d list offsets", lists);

    /* Offsets first (so that column positions are known to be in bounds), list by list. */
    int64_t start = 0;
    for (int32_t l = 0; l < lists; ++l) {
        const int32_t* ro = layout->row_offsets + (int64_t)l * (qb + 1);
        const int64_t at = (int64_t)l * (qb + 1);
        base[l] = start;
        if (ro[0] != 0) {
            free(base);
            return sn_fail(SN_INVALID_LAYOUT,
                           "layout->row_offsets[%lld] (list %d, row 0) = %d: each list's offsets must start at 0",
                           (long long)at, l, ro[0]);
        }
        for (int32_t r = 0; r < qb; ++r) {
            if (ro[r + 1] < ro[r]) {
                free(base);
                return sn_fail(SN_INVALID_LAYOUT,
                               "layout->row_offsets[%lld] (list %d, row %d) = %d is less than the previous offset %d: "
                               "offsets must not decrease",
                               (long long)(at + r + 1), l, r + 1, ro[r + 1], ro[r]);
            }
            if (start + ro[r + 1] > total) {
                free(base);
                return sn_fail(SN_INVALID_LAYOUT,
                               "layout->row_offsets[%lld] (list %d, row %d) = %d runs past the end of col_indices: "
                               "the list starts at %lld and layout->num_col_indices = %lld",
                               (long long)(at + r + 1), l, r + 1, ro[r + 1], (long long)start, (long long)total);
            }
        }
        start += ro[qb];
    }
    if (start != total) {
        free(base);
        return sn_fail(SN_INVALID_LAYOUT,
                       "layout->num_col_indices = %lld but the lists' row_offsets hold %lld column indices",
                       (long long)total, (long long)start);
    }

    /* Columns: in range, strictly increasing within each row. */
    for (int32_t l = 0; l < lists; ++l) {
        const int32_t* ro = layout->row_offsets + (int64_t)l * (qb + 1);
        for (int32_t r = 0; r < qb; ++r) {
            for (int64_t p = base[l] + ro[r]; p < base[l] + ro[r + 1]; ++p) {
                const int32_t c = layout->col_indices[p];
                if (c < 0 || c >= kb) {
                    free(base);
                    return sn_fail(SN_INVALID_LAYOUT,
                                   "layout->col_indices[%lld] (list %d, row %d) = %d: out of range [0, key_blocks %d)",
                                   (long long)p, l, r, c, kb);
                }
                if (p > base[l] + ro[r]) {
                    const int32_t prev = layout->col_indices[p - 1];
                    if (c == prev) {
                        free(base);
                        return sn_fail(SN_INVALID_LAYOUT,
                                       "layout->col_indices[%lld] (list %d, row %d) = %d is duplicated: "
                                       "columns must be strictly increasing",
                                       (long long)p, l, r, c);
                    }
                    if (c < prev) {
                        free(base);
                        return sn_fail(SN_INVALID_LAYOUT,
                                       "layout->col_indices[%lld] (list %d, row %d) = %d follows %d (unsorted): "
                                       "columns must be strictly increasing",
                                       (long long)p, l, r, c, prev);
                    }
                }
            }
        }
    }
    *list_base_out = base;
    return SN_OK;
}
