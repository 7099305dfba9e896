/* Shared helpers for the native tests: a deterministic RNG, random problems with their buffers,
 * error measures and a tiny check macro. */
#ifndef SN_TEST_UTIL_H
#define SN_TEST_UTIL_H

#include <stdint.h>
#include <stdio.h>

#include "sparse_native.h"

extern int test_failures;

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            ++test_failures;                                                    \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
        }                                                                       \
    } while (0)

/* splitmix64: tiny, good enough, identical everywhere. */
uint64_t rng_next(uint64_t* state);
int32_t rng_int(uint64_t* state, int32_t lo, int32_t hi); /* uniform in [lo, hi] */
double rng_unit(uint64_t* state);                         /* uniform in [0, 1) */
/* Uniform in [-1, 1] but never 0 (so a dropped term can never hide behind a zero). */
float rng_nonzero(uint64_t* state);

/* A problem with owned buffers. */
typedef struct test_case {
    sn_problem p;
    sn_layout layout;
    int32_t* row_offsets;
    int32_t* col_indices;
    int32_t* segq;
    int32_t* segk;
    float *q, *k, *v;
    int64_t q_count, kv_count, lse_count;
} test_case;

typedef struct case_options {
    int32_t batch, kv_heads, group, query_length, key_length, head_dim, block_size, num_layouts;
    int32_t format, causal, segments, num_threads;
    float scale;
    double density;      /* probability that a block is listed */
    double empty_rows;   /* probability that a row is forced empty */
} case_options;

/* Random options spanning the contract (GQA, cross lengths, tails, causal, segments, formats...). */
case_options random_options(uint64_t* rng);
/* Builds a case with random data and a random layout (uses rng). */
void case_make(test_case* tc, const case_options* o, uint64_t* rng);
void case_free(test_case* tc);
/* Describes the case in one line (for failure messages). */
const char* case_describe(const test_case* tc);

/* ||x - ref||_F / ||ref||_F (0 if both are 0). */
double rel_frobenius(const float* x, const double* ref, int64_t n);

/* n floats followed by TEST_GUARD sentinel floats (free() it): a kernel that writes past n changes a sentinel. */
#define TEST_GUARD 37
#define TEST_SENTINEL 12345.0f
float* guarded(int64_t n);

/* Whether the TEST_GUARD floats after x[n) still hold TEST_SENTINEL. */
int guard_intact(const float* x, int64_t n);

#endif
