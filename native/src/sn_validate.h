/* Internal: validation of sn_attention_forward's arguments and construction of the kernel plan. */
#ifndef SN_VALIDATE_H
#define SN_VALIDATE_H

#include "sn_plan.h"
#include "sparse_native.h"

/* Checks every argument of sn_attention_forward (in the order documented in the header) and fills
 * *plan. On failure returns the status with the message set and leaves nothing to release; on
 * success the plan owns memory that sn_plan_release() frees. */
sn_status sn_plan_build(sn_plan* plan, const sn_problem* problem, const sn_layout* layout,
                        const float* q, size_t q_len, const float* k, size_t k_len,
                        const float* v, size_t v_len, float* out, size_t out_len,
                        float* lse, size_t lse_len);

void sn_plan_release(sn_plan* plan);

/* Nonzero if the byte ranges [a, a + a_count floats) and [b, b + b_count floats) intersect. */
int sn_ranges_overlap(const void* a, int64_t a_count, const void* b, int64_t b_count);

#endif
