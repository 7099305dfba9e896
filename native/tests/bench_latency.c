/* Not a test: the latency of small calls, where fixed per-call costs (thread start-up, allocation) dominate.
 *   bench_latency [threads] [repetitions]
 * Two problems: a decode step (1 query row, 8 heads, d 64, 4096 keys, block 64, every block listed: 8 work
 * items) and a tiny forward (2 heads, 64 queries x 64 keys, d 64: one block per head, 2 work items), where
 * the kernel's work is small and the call is mostly overhead. Reports wall-clock microseconds per call
 * (median and 99th percentile) after a warm-up; wall time, not CPU time, because waiting for threads to
 * start or wake is exactly what this measures. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <time.h>

#include "test_util.h"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return 1e6 * (double)ts.tv_sec + 1e-3 * (double)ts.tv_nsec;
}

static int cmp(const void* a, const void* b)
{
    const double x = *(const double*)a, y = *(const double*)b;
    return (x > y) - (x < y);
}

static int measure(const char* name, const case_options* o, int repetitions)
{
    uint64_t rng = 7;
    test_case tc;
    case_make(&tc, o, &rng);
    float* out = malloc(sizeof(float) * (size_t)tc.q_count);
    float* lse = malloc(sizeof(float) * (size_t)tc.lse_count);
    double* t = malloc(sizeof(double) * (size_t)repetitions);
    const int warmup = repetitions / 10 + 1;
    for (int i = -warmup; i < repetitions; ++i) {
        const double t0 = now_us();
        const sn_status st = sn_attention_forward(&tc.p, &tc.layout, tc.q, (size_t)tc.q_count, tc.k,
                                                  (size_t)tc.kv_count, tc.v, (size_t)tc.kv_count, out,
                                                  (size_t)tc.q_count, lse, (size_t)tc.lse_count);
        if (st != SN_OK) {
            fprintf(stderr, "%s: %s: %s\n", name, sn_status_name(st), sn_last_error());
            return 1;
        }
        if (i >= 0) t[i] = now_us() - t0;
    }
    qsort(t, (size_t)repetitions, sizeof(double), cmp);
    printf("%-7s %s: median %.1f us, p99 %.1f us (%d calls)\n", name, case_describe(&tc),
           t[repetitions / 2], t[(int)((int64_t)repetitions * 99 / 100)], repetitions);
    free(t);
    free(out);
    free(lse);
    case_free(&tc);
    return 0;
}

int main(int argc, char** argv)
{
    const int threads = argc > 1 ? atoi(argv[1]) : 2;
    const int repetitions = argc > 2 && atoi(argv[2]) > 0 ? atoi(argv[2]) : 2000;
    case_options decode = { 0 };
    decode.batch = 1;
    decode.kv_heads = 8;
    decode.group = 1;
    decode.query_length = 1;
    decode.key_length = 4096;
    decode.head_dim = 64;
    decode.block_size = 64;
    decode.num_layouts = 1;
    decode.density = 1.0;
    decode.scale = 0.125f;
    decode.num_threads = threads;
    case_options tiny = decode;
    tiny.kv_heads = 2;
    tiny.query_length = tiny.key_length = 64;
    printf("%s\n", sn_build_info());
    return measure("decode", &decode, repetitions) | measure("tiny", &tiny, repetitions * 5);
}
