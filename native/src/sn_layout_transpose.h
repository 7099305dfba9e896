/* Internal: the transpose (CSC) of a validated layout, for the backward's key-block-major pass. Compiled into
 * both libraries (the CPU backward builds it per call; the CUDA library once per uploaded layout). */
#ifndef SN_LAYOUT_TRANSPOSE_H
#define SN_LAYOUT_TRANSPOSE_H

#include <stdint.h>

#include "sn_validate.h"

#ifdef __cplusplus
extern "C" {
#endif

/* For every list l of `layout` (validated: `shape` and `list_base` are sn_validate_layout's): offsets
 * [num_layouts][key_blocks + 1] (column kb of list l is rows[list_base[l] + offsets[l][kb] ..
 * list_base[l] + offsets[l][kb + 1])) and rows [num_col_indices], the query blocks of each column in
 * increasing order. *offsets_out and *rows_out are malloc'd (the caller frees them); SN_OUT_OF_MEMORY else. */
sn_status sn_transpose_layout(const sn_layout* layout, const sn_layout_shape* shape, const int64_t* list_base,
                              int32_t** offsets_out, int32_t** rows_out);

#ifdef __cplusplus
}
#endif

#endif
