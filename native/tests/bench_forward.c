/* Not a test: a quick throughput probe. bench_forward S [block] [threads] [causal] [density] [d]
 * B=1, H=8, d=64 by default; reports the median of 5 runs after a warm-up (first touch of fresh pages
 * is slow on this VM, so warm-up matters). GFLOP/s counts 4*d flops per computed (query, key) pair of
 * the listed blocks (blocks skipped by the causal mask are counted too). */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <time.h>

#include "test_util.h"

/* Process CPU time, not wall time: the machine is shared, and CPU time is what a descheduled run
 * does not inflate. With several threads it sums them (then GFLOP/s is per core). */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void* a, const void* b)
{
    const double x = *(const double*)a, y = *(const double*)b;
    return (x > y) - (x < y);
}

int main(int argc, char** argv)
{
    case_options o = { 0 };
    o.batch = 1;
    o.kv_heads = 8;
    o.group = 1;
    o.query_length = o.key_length = argc > 1 ? atoi(argv[1]) : 4096;
    o.block_size = argc > 2 ? atoi(argv[2]) : 64;
    o.num_threads = argc > 3 ? atoi(argv[3]) : 1;
    o.causal = argc > 4 ? atoi(argv[4]) : 0;
    o.density = argc > 5 ? atof(argv[5]) : 1.0;
    o.head_dim = argc > 6 ? atoi(argv[6]) : 64;
    o.num_layouts = 1;
    uint64_t rng = 1;
    test_case tc;
    case_make(&tc, &o, &rng);
    float* out = malloc(sizeof(float) * (size_t)tc.q_count);
    float* lse = malloc(sizeof(float) * (size_t)tc.lse_count);
    double t[6];
    for (int i = 0; i < 6; ++i) {
        const double t0 = now();
        sn_status st = sn_attention_forward(&tc.p, &tc.layout, tc.q, (size_t)tc.q_count, tc.k, (size_t)tc.kv_count,
                                            tc.v, (size_t)tc.kv_count, out, (size_t)tc.q_count, lse,
                                            (size_t)tc.lse_count);
        t[i] = now() - t0;
        if (st != SN_OK) {
            fprintf(stderr, "%s: %s\n", sn_status_name(st), sn_last_error());
            return 1;
        }
    }
    qsort(t + 1, 5, sizeof(double), cmp);
    const double pairs = (double)tc.layout.num_col_indices * o.block_size * o.block_size;
    const double flops = 4.0 * o.head_dim * pairs * o.kv_heads * o.group * o.batch;
    printf("%s S=%d bs=%d threads=%d causal=%d density=%.2f blocks=%d: median %.2f CPU-ms, %.1f GFLOP/s per core (listed blocks)\n",
           sn_build_info() + 0, o.query_length, o.block_size, o.num_threads, o.causal, o.density,
           tc.layout.num_col_indices, 1e3 * t[3], flops / t[3] * 1e-9);
    case_free(&tc);
    free(out);
    free(lse);
    return 0;
}
