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

/* The same from float64 inputs (for finite differences). */
void ref_attention_f64(const sn_problem* p, const sn_layout* layout, const double* q, const double* k,
                       const double* v, double* out, double* lse);

/* A malloc'd float64 copy of x[0..n). */
double* ref_widen(const float* x, int64_t n);

/* SEMANTICS.md's backward pass in float64 from the definition: recomputes the weights and the output
 * itself (no O or lse from the caller), then dq, dk, dv (same layouts as q, k, v); GQA sums dk and dv
 * over each kv head's query group. */
void ref_attention_backward(const sn_problem* p, const sn_layout* layout, const double* q, const double* k,
                            const double* v, const double* dout, double* dq, double* dk, double* dv);

/* SEMANTICS.md's merge rule in double, for [rows, head_dim] data (rows = B*H*L, any order as long as
 * row r of out matches lse[r]). */
void ref_merge(int64_t rows, int32_t head_dim, const double* out_a, const double* lse_a, const double* out_b,
               const double* lse_b, double* out, double* lse);

#endif
