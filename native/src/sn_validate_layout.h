/* Internal: validation of an sn_layout (SEMANTICS.md, "Block layout"). */
#ifndef SN_VALIDATE_LAYOUT_H
#define SN_VALIDATE_LAYOUT_H

#include <stdint.h>

#include "sparse_native.h"

/* Checks every field of *layout (non-NULL) for a problem with the given query head count and lengths
 * (already known to be >= 1). On success *list_base_out receives a malloc'd array of num_layouts
 * start positions of each list in col_indices (the caller frees it); on failure it is NULL. */
sn_status sn_validate_layout(const sn_layout* layout, int32_t query_heads, int32_t query_length,
                             int32_t key_length, int64_t** list_base_out);

#endif
