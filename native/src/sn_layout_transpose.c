/* The transpose (CSC) of a validated layout: see sn_layout_transpose.h. */
#include "sn_layout_transpose.h"

#include <stdlib.h>
#include <string.h>

#include "sn_error.h"

sn_status sn_transpose_layout(const sn_layout* layout, const sn_layout_shape* shape, const int64_t* list_base,
                              int32_t** offsets_out, int32_t** rows_out)
{
    const int64_t QB = shape->query_blocks, KB = shape->key_blocks;
    int32_t* offsets = calloc((size_t)(shape->num_layouts * (KB + 1)), sizeof(int32_t));
    int32_t* rows = malloc(sizeof(int32_t) * (size_t)(shape->num_col_indices > 0 ? shape->num_col_indices : 1));
    int32_t* next = malloc(sizeof(int32_t) * (size_t)(KB > 0 ? KB : 1));
    if (offsets == NULL || rows == NULL || next == NULL) {
        free(offsets);
        free(rows);
        free(next);
        return sn_fail(SN_OUT_OF_MEMORY, "cannot allocate the layout's transpose (%d blocks, %lld key blocks)",
                       shape->num_col_indices, (long long)KB);
    }
    for (int32_t l = 0; l < shape->num_layouts; ++l) {
        const int32_t* ro = layout->row_offsets + l * (QB + 1);
        /* A layout without blocks may have no column array: NULL + 0 is undefined behaviour, so do not form it. */
        const int32_t* ci = layout->col_indices != NULL ? layout->col_indices + list_base[l] : NULL;
        int32_t* co = offsets + l * (KB + 1);
        int32_t* cr = rows + list_base[l];
        for (int32_t e = 0; e < ro[QB]; ++e) ++co[ci[e] + 1];
        for (int64_t kb = 0; kb < KB; ++kb) co[kb + 1] += co[kb];
        /* Rows in increasing order fill each column in increasing order; `next` walks each column. */
        memcpy(next, co, sizeof(int32_t) * (size_t)KB);
        for (int32_t qb = 0; qb < QB; ++qb)
            for (int32_t e = ro[qb]; e < ro[qb + 1]; ++e) cr[next[ci[e]]++] = qb;
    }
    free(next);
    *offsets_out = offsets;
    *rows_out = rows;
    return SN_OK;
}
