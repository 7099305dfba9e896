/* Internal: finding NaN and infinity in input buffers (the contract makes them errors by default). */
#ifndef SN_FINITE_H
#define SN_FINITE_H

#include <stdint.h>

/* The index of the first NaN or +-infinity in x[0..n), or -1 if all are finite. */
int64_t sn_find_non_finite(const float* x, int64_t n);

/* sn_find_non_finite in the same pass that finds the largest |x[i]|: when all are finite, returns -1 and
 * stores it in *max_magnitude (0 for n = 0; max_magnitude may be NULL). */
int64_t sn_scan_finite(const float* x, int64_t n, float* max_magnitude);

/* The index of the first NaN or +infinity in x[0..n) (-infinity allowed, as in an lse), or -1. */
int64_t sn_find_nan_or_pos_inf(const float* x, int64_t n);

/* Index (element) -> coordinates of a [B, H, L, d] tensor in sn_format `format`. */
void sn_coordinates(int32_t format, int64_t heads, int64_t length, int64_t head_dim, int64_t index,
                    int64_t* b, int64_t* h, int64_t* t, int64_t* c);

#endif
