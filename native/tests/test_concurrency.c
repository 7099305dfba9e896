/* Concurrent callers of the C API, and the thread pool across fork().
 *   test_concurrency [seconds] [callers]   (default 3 s, 8 callers)
 *   test_concurrency fork
 * Callers: each caller thread calls sn_attention_forward, sn_attention_backward and sn_merge_states in turn
 * for a bounded time, on random problems (GQA, tails, causal, segments, both formats, a decode step against
 * 4096 keys) with random thread counts, and compares every result bitwise with the same call made alone on
 * one thread before the callers started. So the pool (one job at a time, callers that find it busy running
 * alone) must give the same bits whichever caller gets it, and no call may disturb another's. A watchdog
 * (alarm) fails a run that deadlocks.
 * fork: a child forked after the pool has workers, while other threads are calling, makes parallel calls of
 * its own (its pool must start new workers, not wait for the parent's) and must get the same bits. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"

#define CASES 7
#define WATCHDOG_SLACK_S 120 /* beyond the run time: a sanitizer build is slow, a deadlock is forever */

/* A problem with its results computed alone on one thread. */
typedef struct golden {
    test_case tc;
    float *out, *lse, *dout, *dq, *dk, *dv; /* forward results, the backward's dout and its results */
    float *out_b, *lse_b, *merged, *merged_lse; /* a second state and the merge of (out, lse) with it */
} golden;

static golden cases[CASES];
static double run_seconds = 3.0;
static atomic_llong calls, mismatches;
static const int32_t thread_counts[] = { 0, 1, 2, 3, 8 };

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float* floats(int64_t n, uint64_t* rng)
{
    float* x = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    for (int64_t i = 0; i < n; ++i) x[i] = rng ? rng_nonzero(rng) : 0.0f;
    return x;
}

static sn_status forward(const test_case* tc, int32_t threads, float* out, float* lse)
{
    sn_problem p = tc->p;
    p.num_threads = threads;
    const size_t qn = (size_t)tc->q_count, kn = (size_t)tc->kv_count;
    return sn_attention_forward(&p, &tc->layout, tc->q, qn, tc->k, kn, tc->v, kn, out, qn, lse, (size_t)tc->lse_count);
}

static sn_status backward(const golden* g, int32_t threads, float* dq, float* dk, float* dv)
{
    sn_problem p = g->tc.p;
    p.num_threads = threads;
    const size_t qn = (size_t)g->tc.q_count, kn = (size_t)g->tc.kv_count;
    return sn_attention_backward(&p, &g->tc.layout, g->tc.q, qn, g->tc.k, kn, g->tc.v, kn, g->out, qn, g->lse,
                                 (size_t)g->tc.lse_count, g->dout, qn, dq, qn, dk, kn, dv, kn);
}

static sn_status merge(const golden* g, float* out, float* lse)
{
    const sn_problem* p = &g->tc.p;
    return sn_merge_states(p->batch, p->query_heads, p->query_length, p->head_dim, p->format, 0, g->out, g->lse,
                           g->out_b, g->lse_b, out, lse, (size_t)g->tc.q_count, (size_t)g->tc.lse_count);
}

static int same(const float* a, const float* b, int64_t n) { return memcmp(a, b, sizeof(float) * (size_t)n) == 0; }

static void make_cases(uint64_t* rng)
{
    for (int c = 0; c < CASES; ++c) {
        golden* g = &cases[c];
        case_options o = random_options(rng);
        if (c == 0) { /* a decode step: one query row against a long KV cache, every block listed */
            memset(&o, 0, sizeof o);
            o.batch = 1; o.kv_heads = 2; o.group = 4; o.query_length = 1; o.key_length = 4096; o.head_dim = 64;
            o.block_size = 64; o.num_layouts = 1; o.density = 1.0; o.scale = 0.125f;
        }
        case_make(&g->tc, &o, rng);
        const int64_t qn = g->tc.q_count, kn = g->tc.kv_count, rows = g->tc.lse_count;
        g->out = floats(qn, NULL); g->lse = floats(rows, NULL);
        CHECK(forward(&g->tc, 1, g->out, g->lse) == SN_OK, "forward alone: %s (%s)", sn_last_error(), case_describe(&g->tc));
        g->dout = floats(qn, rng);
        g->dq = floats(qn, NULL); g->dk = floats(kn, NULL); g->dv = floats(kn, NULL);
        CHECK(backward(g, 1, g->dq, g->dk, g->dv) == SN_OK, "backward alone: %s (%s)", sn_last_error(), case_describe(&g->tc));
        g->out_b = floats(qn, rng); g->lse_b = floats(rows, rng);
        g->merged = floats(qn, NULL); g->merged_lse = floats(rows, NULL);
        CHECK(merge(g, g->merged, g->merged_lse) == SN_OK, "merge alone: %s", sn_last_error());
    }
}

/* One call of `op` on case g with `threads`, compared with the result made alone. Returns 1 if it matches. */
static int call_and_compare(const golden* g, int op, int32_t threads, float* a, float* b, float* c)
{
    const int64_t qn = g->tc.q_count, kn = g->tc.kv_count, rows = g->tc.lse_count;
    sn_status st;
    int ok;
    if (op == 0) {
        st = forward(&g->tc, threads, a, b);
        ok = st == SN_OK && same(a, g->out, qn) && same(b, g->lse, rows);
    } else if (op == 1) {
        st = backward(g, threads, a, b, c);
        ok = st == SN_OK && same(a, g->dq, qn) && same(b, g->dk, kn) && same(c, g->dv, kn);
    } else {
        st = merge(g, a, b);
        ok = st == SN_OK && same(a, g->merged, qn) && same(b, g->merged_lse, rows);
    }
    if (!ok)
        fprintf(stderr, "%s with %d threads: %s (%s)\n", op == 0 ? "forward" : op == 1 ? "backward" : "merge",
                threads, st == SN_OK ? "result differs from the call made alone" : sn_last_error(),
                case_describe(&g->tc));
    return ok;
}

/* Elements in the largest tensor of any case: what a caller's result buffers hold. */
static int64_t largest_tensor(void)
{
    int64_t most = 1;
    for (int c = 0; c < CASES; ++c) {
        if (cases[c].tc.kv_count > most) most = cases[c].tc.kv_count;
        if (cases[c].tc.q_count > most) most = cases[c].tc.q_count;
    }
    return most;
}

static void* caller_main(void* arg)
{
    uint64_t rng = 0x9e3779b97f4a7c15ull * (uint64_t)(uintptr_t)arg + 1;
    const int64_t most = largest_tensor();
    float *a = floats(most, NULL), *b = floats(most, NULL), *c = floats(most, NULL);
    const double end = now_s() + run_seconds;
    for (int64_t i = 0; i < 3 * CASES || now_s() < end; ++i) { /* every op on every case at least once */
        const golden* g = &cases[i < 3 * CASES ? i / 3 : rng_int(&rng, 0, CASES - 1)];
        const int op = (int)(i % 3);
        const int32_t threads = thread_counts[rng_int(&rng, 0, (int32_t)(sizeof thread_counts / sizeof thread_counts[0]) - 1)];
        if (!call_and_compare(g, op, threads, a, b, c)) atomic_fetch_add(&mismatches, 1);
        atomic_fetch_add(&calls, 1);
    }
    free(a); free(b); free(c);
    return NULL;
}

static int run_callers(int callers)
{
    pthread_t threads[64];
    if (callers > 64) callers = 64;
    alarm((unsigned)run_seconds + WATCHDOG_SLACK_S); /* SIGALRM's default action ends the process: a failure */
    const double t0 = now_s();
    for (int t = 0; t < callers; ++t)
        CHECK(pthread_create(&threads[t], NULL, caller_main, (void*)(uintptr_t)(t + 1)) == 0, "pthread_create");
    for (int t = 0; t < callers; ++t) pthread_join(threads[t], NULL);
    alarm(0);
    printf("%d callers, %lld calls in %.1f s, %lld mismatches\n", callers, (long long)atomic_load(&calls),
           now_s() - t0, (long long)atomic_load(&mismatches));
    CHECK(atomic_load(&mismatches) == 0, "%lld calls differ from the same call made alone",
          (long long)atomic_load(&mismatches));
    return test_failures;
}

/* Forks while two callers keep the pool busy; the child calls on its own pool (several thread counts). */
static int run_fork(void)
{
    run_seconds = 1.0;
    pthread_t busy[2];
    for (int t = 0; t < 2; ++t) pthread_create(&busy[t], NULL, caller_main, (void*)(uintptr_t)(t + 100));
    nanosleep(&(struct timespec){ .tv_sec = 0, .tv_nsec = 200 * 1000 * 1000 }, NULL);
    alarm(WATCHDOG_SLACK_S);
    const pid_t child = fork();
    if (child == 0) {
        int bad = 0;
        const int64_t most = largest_tensor();
        float *a = floats(most, NULL), *b = floats(most, NULL), *c = floats(most, NULL);
        for (int round = 0; round < 20; ++round)
            for (int g = 0; g < CASES; ++g)
                bad += !call_and_compare(&cases[g], round % 3, thread_counts[round % 5], a, b, c);
        _exit(bad == 0 ? 0 : 1);
    }
    CHECK(child > 0, "fork failed");
    int status = 0;
    CHECK(waitpid(child, &status, 0) == child, "waitpid");
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the forked child's calls failed (status %d)", status);
    for (int t = 0; t < 2; ++t) pthread_join(busy[t], NULL);
    alarm(0);
    CHECK(atomic_load(&mismatches) == 0, "%lld calls differ in the parent", (long long)atomic_load(&mismatches));
    printf("fork: the child's %d calls matched; the parent made %lld\n", 20 * CASES, (long long)atomic_load(&calls));
    return test_failures;
}

int main(int argc, char** argv)
{
    uint64_t rng = 15;
    make_cases(&rng);
    if (test_failures) return 1;
    int failures;
    if (argc > 1 && strcmp(argv[1], "fork") == 0) {
        failures = run_fork();
    } else {
        if (argc > 1) run_seconds = atof(argv[1]);
        failures = run_callers(argc > 2 ? atoi(argv[2]) : 8);
    }
    for (int c = 0; c < CASES; ++c) {
        golden* g = &cases[c];
        free(g->out); free(g->lse); free(g->dout); free(g->dq); free(g->dk); free(g->dv);
        free(g->out_b); free(g->lse_b); free(g->merged); free(g->merged_lse);
        case_free(&g->tc);
    }
    return failures ? 1 : 0;
}
