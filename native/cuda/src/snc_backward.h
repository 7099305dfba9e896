// Internal: a validated backward call as the backward kernels see it (passed BY VALUE to them): the forward's
// plan (q, k, v, lse and the layout, all device pointers) plus the backward's own tensors and the layout's
// transpose. Plain C++ (included by .cu files only).
#ifndef SNC_BACKWARD_H
#define SNC_BACKWARD_H

#include <stdint.h>

#include "sn_plan.h"

struct snc_backward_plan {
    sn_plan plan;                // plan.lse is the forward's lse (read only here)
    const void* out;             // the forward's output, as q
    const void* dout;            // gradient of the loss w.r.t. out, as q
    void* dq;                    // as q
    void* dk;                    // as k
    void* dv;                    // as v
    const int32_t* csc_offsets;  // [num_layouts][key_blocks + 1] (sn_layout_transpose.h)
    const int32_t* csc_rows;     // [num_col_indices], list l from plan.list_base[l]
};

#endif
