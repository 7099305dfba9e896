/* Test helper: float <-> IEEE binary16 / bfloat16 bit patterns, round-to-nearest-even (the rounding of
 * cvt.rn on the GPU), so that the CPU reference sees exactly the values the GPU kernel reads. */
#ifndef SNC_HALF_CONVERT_H
#define SNC_HALF_CONVERT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

uint16_t snc_float_to_f16(float x);
float snc_f16_to_float(uint16_t h);
uint16_t snc_float_to_bf16(float x);
float snc_bf16_to_float(uint16_t h);

#ifdef __cplusplus
}
#endif

#endif
