/* sn_attention_backward against the float64 reference backward (reference.c) on random and hand-picked
 * problems: relative Frobenius error of each of dq, dk, dv <= 1e-4, exact zeros where the reference is
 * exactly zero (empty rows, unattended keys, scale 0), every required element written and none beyond, and
 * bitwise identical gradients for every thread count. The reference itself is checked against central
 * finite differences of the float64 forward (relative error <= 1e-6).
 * Usage: test_backward [random_cases] [seed] */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reference.h"
#include "test_util.h"

#define TOLERANCE 1e-4
#define FD_TOLERANCE 1e-6

/* The forward's out and lse, and a random dout: what a training step hands the backward. */
typedef struct grads_case {
    float *out, *lse, *dout;
} grads_case;

static sn_status backward(const test_case* tc, const grads_case* g, int32_t threads, float* dq, float* dk, float* dv)
{
    sn_problem p = tc->p;
    p.num_threads = threads;
    const size_t qn = (size_t)tc->q_count, kn = (size_t)tc->kv_count;
    return sn_attention_backward(&p, &tc->layout, tc->q, qn, tc->k, kn, tc->v, kn, g->out, qn, g->lse,
                                 (size_t)tc->lse_count, g->dout, qn, dq, qn, dk, kn, dv, kn);
}

static double worst[3];

/* The relative Frobenius error, except where the reference is exactly 0 although the gradient is not zero by
 * the contract (every row sees one key, so dS = P (dO.v - dO.o) cancels exactly in float64): then the float
 * residue of that cancellation, measured against sqrt(n) (inputs are O(1)). */
static double gradient_error(const float* x, const double* ref, int64_t n)
{
    const double err = rel_frobenius(x, ref, n);
    if (err != INFINITY) return err;
    double num = 0.0;
    for (int64_t i = 0; i < n; ++i) num += (double)x[i] * x[i];
    return sqrt(num / (double)n);
}

/* The gradients that are 0 by the contract must be exactly 0 (never a rounding residue or NaN): dq of a row
 * with no allowed key (lse = -inf), dk and dv of a key no query attends (its reference dv is exactly 0: a
 * sum of positive weights times random nonzero dout), dq and dk with scale 0. Returns the misses. */
static int64_t contract_zero_misses(const test_case* tc, const float* lse, float* const grads[3], double* const ref[3])
{
    const sn_problem* p = &tc->p;
    const int64_t d = p->head_dim;
    int64_t bad = 0;
    for (int64_t r = 0; r < tc->lse_count; ++r) {
        const int64_t b = r / ((int64_t)p->query_heads * p->query_length), h = r / p->query_length % p->query_heads,
                      i = r % p->query_length;
        for (int64_t c = 0; c < d; ++c) {
            const float x = grads[0][ref_index(p->format, p->query_heads, p->query_length, d, b, h, i, c)];
            bad += (lse[r] == -INFINITY || p->scale == 0.0f) && x != 0.0f;
        }
    }
    for (int64_t x = 0; x < tc->kv_count; x += d) {
        int unattended = 1;
        for (int64_t c = 0; c < d; ++c) unattended &= ref[2][x + c] == 0.0;
        for (int64_t c = 0; c < d; ++c)
            bad += ((unattended || p->scale == 0.0f) && grads[1][x + c] != 0.0f) + (unattended && grads[2][x + c] != 0.0f);
    }
    return bad;
}

static void check_case(const test_case* tc, uint64_t* rng)
{
    const sn_problem* p = &tc->p;
    grads_case g;
    g.out = malloc(sizeof(float) * (size_t)tc->q_count);
    g.lse = malloc(sizeof(float) * (size_t)tc->lse_count);
    g.dout = malloc(sizeof(float) * (size_t)tc->q_count);
    for (int64_t i = 0; i < tc->q_count; ++i) g.dout[i] = rng_nonzero(rng);
    float* grads[3] = { guarded(tc->q_count), guarded(tc->kv_count), guarded(tc->kv_count) };
    const int64_t counts[3] = { tc->q_count, tc->kv_count, tc->kv_count };
    static const char* const names[3] = { "dq", "dk", "dv" };

    sn_status st = sn_attention_forward(p, &tc->layout, tc->q, (size_t)tc->q_count, tc->k, (size_t)tc->kv_count,
                                        tc->v, (size_t)tc->kv_count, g.out, (size_t)tc->q_count, g.lse,
                                        (size_t)tc->lse_count);
    CHECK(st == SN_OK, "forward status %s (%s) for %s", sn_status_name(st), sn_last_error(), case_describe(tc));
    if (st == SN_OK) st = backward(tc, &g, p->num_threads, grads[0], grads[1], grads[2]);
    CHECK(st == SN_OK, "backward status %s (%s) for %s", sn_status_name(st), sn_last_error(), case_describe(tc));
    if (st != SN_OK) goto done;

    double* qd = ref_widen(tc->q, tc->q_count);
    double* kd = ref_widen(tc->k, tc->kv_count);
    double* vd = ref_widen(tc->v, tc->kv_count);
    double* gd = ref_widen(g.dout, tc->q_count);
    double* ref[3] = { malloc(sizeof(double) * (size_t)tc->q_count), malloc(sizeof(double) * (size_t)tc->kv_count),
                       malloc(sizeof(double) * (size_t)tc->kv_count) };
    ref_attention_backward(p, &tc->layout, qd, kd, vd, gd, ref[0], ref[1], ref[2]);
    for (int t = 0; t < 3; ++t) {
        CHECK(guard_intact(grads[t], counts[t]), "%s written past its end: %s", names[t], case_describe(tc));
        const double err = gradient_error(grads[t], ref[t], counts[t]);
        if (err > worst[t]) worst[t] = err;
        CHECK(err <= TOLERANCE, "%s relative Frobenius error %.3g for %s", names[t], err, case_describe(tc));
    }
    const int64_t misses = contract_zero_misses(tc, g.lse, grads, ref);
    CHECK(misses == 0, "%lld gradient elements are not exactly 0 where the contract says so: %s", (long long)misses,
          case_describe(tc));

    /* Every thread count must give the same bits. */
    static const int32_t thread_counts[] = { 1, 2, 3, 8, 0 };
    float* again[3] = { guarded(tc->q_count), guarded(tc->kv_count), guarded(tc->kv_count) };
    for (size_t n = 0; n < sizeof thread_counts / sizeof thread_counts[0]; ++n) {
        st = backward(tc, &g, thread_counts[n], again[0], again[1], again[2]);
        CHECK(st == SN_OK, "status %s with %d threads", sn_status_name(st), thread_counts[n]);
        for (int t = 0; t < 3; ++t)
            CHECK(memcmp(grads[t], again[t], sizeof(float) * (size_t)counts[t]) == 0, "%s differs with %d threads: %s",
                  names[t], thread_counts[n], case_describe(tc));
    }
    for (int t = 0; t < 3; ++t) {
        free(again[t]);
        free(ref[t]);
    }
    free(qd);
    free(kd);
    free(vd);
    free(gd);
done:
    for (int t = 0; t < 3; ++t) free(grads[t]);
    free(g.out);
    free(g.lse);
    free(g.dout);
}

/* loss = sum(dout * out(q, k, v)) in float64: its gradient is the backward's result for that dout. */
static double fd_loss(const sn_problem* p, const sn_layout* layout, const double* q, const double* k, const double* v,
                      const double* dout, double* out, double* lse, int64_t qn)
{
    ref_attention_f64(p, layout, q, k, v, out, lse);
    double loss = 0.0;
    for (int64_t i = 0; i < qn; ++i) loss += dout[i] * out[i];
    return loss;
}

static double worst_fd;

/* The reference backward against central differences of the float64 forward at sampled coordinates. */
static void check_reference_by_finite_differences(const test_case* tc, uint64_t* rng)
{
    const sn_problem* p = &tc->p;
    const int64_t qn = tc->q_count, kn = tc->kv_count;
    double* x[3] = { ref_widen(tc->q, qn), ref_widen(tc->k, kn), ref_widen(tc->v, kn) };
    double* dout = malloc(sizeof(double) * (size_t)qn);
    for (int64_t i = 0; i < qn; ++i) dout[i] = rng_nonzero(rng);
    double* grad[3] = { malloc(sizeof(double) * (size_t)qn), malloc(sizeof(double) * (size_t)kn),
                        malloc(sizeof(double) * (size_t)kn) };
    ref_attention_backward(p, &tc->layout, x[0], x[1], x[2], dout, grad[0], grad[1], grad[2]);
    double* out = malloc(sizeof(double) * (size_t)qn);
    double* lse = malloc(sizeof(double) * (size_t)tc->lse_count);
    const int64_t counts[3] = { qn, kn, kn };
    static const char* const names[3] = { "dq", "dk", "dv" };
    const double h = 1e-5;
    enum { SAMPLES = 24 };
    for (int t = 0; t < 3; ++t) {
        double num = 0.0, den = 0.0;
        for (int s = 0; s < SAMPLES; ++s) {
            const int64_t i = (int64_t)(rng_unit(rng) * (double)counts[t]);
            const double saved = x[t][i];
            x[t][i] = saved + h;
            const double up = fd_loss(p, &tc->layout, x[0], x[1], x[2], dout, out, lse, qn);
            x[t][i] = saved - h;
            const double down = fd_loss(p, &tc->layout, x[0], x[1], x[2], dout, out, lse, qn);
            x[t][i] = saved;
            const double fd = (up - down) / (2.0 * h);
            num += (fd - grad[t][i]) * (fd - grad[t][i]);
            den += fd * fd;
        }
        /* All-zero samples (a key nobody sees, scale 0 for dq/dk): then the analytic values must be 0 too. */
        const double err = den == 0.0 ? sqrt(num) : sqrt(num / den);
        if (err > worst_fd) worst_fd = err;
        CHECK(err <= FD_TOLERANCE, "reference %s vs finite differences: relative error %.3g for %s", names[t], err,
              case_describe(tc));
    }
    for (int t = 0; t < 3; ++t) {
        free(x[t]);
        free(grad[t]);
    }
    free(dout);
    free(out);
    free(lse);
}

static case_options base_options(void)
{
    case_options o;
    memset(&o, 0, sizeof o);
    o.batch = 1;
    o.kv_heads = 2;
    o.group = 2;
    o.query_length = 90;
    o.key_length = 90;
    o.head_dim = 32;
    o.block_size = 32;
    o.num_layouts = 2;
    o.scale = 0.18f;
    o.density = 0.6;
    return o;
}

static void run_named(const char* name, case_options o, uint64_t* rng)
{
    test_case tc;
    case_make(&tc, &o, rng);
    const int before = test_failures;
    check_case(&tc, rng);
    if (test_failures != before) fprintf(stderr, "  in named case '%s'\n", name);
    case_free(&tc);
}

static void named_cases(uint64_t* rng)
{
    case_options o = base_options();
    o.density = 0.0;
    run_named("layout with no blocks at all", o, rng);

    o = base_options();
    o.density = 1.0;
    o.causal = 1;
    run_named("dense causal", o, rng);

    o = base_options();
    o.query_length = 100;
    o.key_length = 40;
    o.causal = 1;
    o.density = 1.0;
    run_named("causal with Lq > Lk (early rows see nothing)", o, rng);

    o = base_options();
    o.query_length = 30;
    o.key_length = 200;
    o.causal = 1;
    o.block_size = 16;
    run_named("causal cross, Lk > Lq", o, rng);

    o = base_options();
    o.query_length = 1;
    o.key_length = 150;
    o.kv_heads = 1;
    o.group = 8;
    o.num_layouts = 4;
    run_named("one query, MQA (dk/dv sum over 8 heads)", o, rng);

    static const float scales[] = { 0.0f, -0.3f, 1.0f };
    static const char* const scale_names[] = { "scale 0 (uniform, dq = dk = 0)", "scale -0.3", "peaked: scale 1" };
    for (int i = 0; i < 3; ++i)
        for (int causal = 0; causal <= 1; ++causal) {
            o = base_options();
            o.scale = scales[i];
            o.causal = causal;
            o.head_dim = i == 2 ? 128 : 32;
            run_named(scale_names[i], o, rng);
        }

    o = base_options();
    o.segments = 1;
    o.causal = 1;
    o.format = SN_FORMAT_BSHD;
    o.batch = 3;
    o.density = 1.0;
    run_named("packed sequences: segments + causal + BSHD", o, rng);

    o = base_options();
    o.query_length = 200;
    o.key_length = 170;
    o.block_size = 16;
    o.head_dim = 8;
    o.empty_rows = 0.5;
    run_named("many small blocks, half the rows empty", o, rng);

    o = base_options();
    o.query_length = o.key_length = 300;
    o.block_size = 128;
    o.head_dim = 256;
    o.density = 0.8;
    run_named("block 128, head_dim 256", o, rng);
}

/* Small problems for the finite-difference check of the reference: every option, block 16. */
static case_options small_options(uint64_t* rng)
{
    case_options o = random_options(rng);
    o.block_size = 16;
    o.query_length = rng_int(rng, 1, 40);
    o.key_length = rng_int(rng, 0, 1) ? o.query_length : rng_int(rng, 1, 40);
    o.head_dim = rng_int(rng, 0, 1) ? 8 : 16;
    o.batch = rng_int(rng, 1, 2);
    return o;
}

int main(int argc, char** argv)
{
    const int cases = argc > 1 ? atoi(argv[1]) : 100;
    uint64_t rng = argc > 2 ? strtoull(argv[2], NULL, 0) : 20261202u;
    printf("%s\n", sn_build_info());
    for (int i = 0; i < 20; ++i) {
        case_options o = small_options(&rng);
        if (i % 4 == 0) o.scale = i % 8 == 0 ? 0.0f : -0.4f;
        test_case tc;
        case_make(&tc, &o, &rng);
        check_reference_by_finite_differences(&tc, &rng);
        case_free(&tc);
    }
    named_cases(&rng);
    for (int i = 0; i < cases; ++i) {
        case_options o = random_options(&rng);
        test_case tc;
        case_make(&tc, &o, &rng);
        check_case(&tc, &rng);
        case_free(&tc);
    }
    printf("reference vs finite differences: worst relative error %.3g (20 problems)\n", worst_fd);
    printf("%d random cases + named cases, worst relative Frobenius error dq %.3g dk %.3g dv %.3g, %d failures\n",
           cases, worst[0], worst[1], worst[2], test_failures);
    return test_failures == 0 ? 0 : 1;
}
