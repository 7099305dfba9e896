/* The tests' float64 reference of docs/SEMANTICS.md, written independently of the library: no blocks,
 * no online softmax, no shared code; every (query, key) pair is decided from the definition. */
#ifndef SN_TEST_REFERENCE_H
#define SN_TEST_REFERENCE_H

#include <stdint.h>

#include "sparse_native.h"

/* Element index of (b, h, t, c) in a [B, H, L, d] tensor of the given format. */
int64_t ref_index(int32_t format, int64_t heads, int64_t length, int64_t head_dim, int64_t b, int64_t h,
                  int64_t t, int64_t c);

/* out (same format and shape as q, in double) and lse ([B, Hq, Lq], -INFINITY for rows with no key). */
void ref_attention(const sn_problem* p, const sn_layout* layout, const float* q, const float* k, const float* v,
                   double* out, double* lse);

/* SEMANTICS.md's merge rule in double, for [rows, head_dim] data (rows = B*H*L, any order as long as
 * row r of out matches lse[r]). */
void ref_merge(int64_t rows, int32_t head_dim, const double* out_a, const double* lse_a, const double* out_b,
               const double* lse_b, double* out, double* lse);

#endif
