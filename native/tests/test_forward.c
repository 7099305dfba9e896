/* sn_attention_forward against the float64 reference on random and hand-picked problems:
 * relative Frobenius error <= 1e-5, empty rows exactly 0 / -inf, lse, no writes past the required
 * elements, and bitwise identical results for every thread count.
 * Usage: test_forward [random_cases] [seed] */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reference.h"
#include "test_util.h"

#define TOLERANCE 1e-5

static sn_status run(const test_case* tc, int32_t threads, float* out, float* lse)
{
    sn_problem p = tc->p;
    p.num_threads = threads;
    return sn_attention_forward(&p, &tc->layout, tc->q, (size_t)tc->q_count, tc->k, (size_t)tc->kv_count, tc->v,
                                (size_t)tc->kv_count, out, (size_t)tc->q_count, lse, lse ? (size_t)tc->lse_count : 0);
}

static double worst_error;

static void check_case(const test_case* tc)
{
    const sn_problem* p = &tc->p;
    float* out = guarded(tc->q_count);
    float* lse = guarded(tc->lse_count);
    sn_status st = run(tc, p->num_threads, out, lse);
    CHECK(st == SN_OK, "status %s (%s) for %s", sn_status_name(st), sn_last_error(), case_describe(tc));
    if (st != SN_OK) goto done;
    CHECK(guard_intact(out, tc->q_count) && guard_intact(lse, tc->lse_count), "wrote past the end: %s",
          case_describe(tc));

    double* ref_out = malloc(sizeof(double) * (size_t)tc->q_count);
    double* ref_lse = malloc(sizeof(double) * (size_t)tc->lse_count);
    ref_attention(p, &tc->layout, tc->q, tc->k, tc->v, ref_out, ref_lse);
    const double err = rel_frobenius(out, ref_out, tc->q_count);
    if (err > worst_error) worst_error = err;
    CHECK(err <= TOLERANCE, "relative Frobenius error %.3g for %s", err, case_describe(tc));

    int64_t bad_rows = 0, bad_lse = 0;
    for (int32_t b = 0; b < p->batch; ++b)
        for (int32_t h = 0; h < p->query_heads; ++h)
            for (int32_t i = 0; i < p->query_length; ++i) {
                const int64_t r = ((int64_t)b * p->query_heads + h) * p->query_length + i;
                if (ref_lse[r] == -INFINITY) {
                    bad_lse += lse[r] != -INFINITY;
                    for (int32_t c = 0; c < p->head_dim; ++c)
                        bad_rows += out[ref_index(p->format, p->query_heads, p->query_length, p->head_dim, b, h, i, c)] != 0.0f;
                } else {
                    const double e = fabs((double)lse[r] - ref_lse[r]);
                    bad_lse += !(e <= TOLERANCE * fmax(1.0, fabs(ref_lse[r])));
                }
            }
    CHECK(bad_rows == 0, "%lld outputs of empty rows are not exactly 0 in %s", (long long)bad_rows, case_describe(tc));
    CHECK(bad_lse == 0, "%lld lse values differ from the reference in %s", (long long)bad_lse, case_describe(tc));

    /* Every thread count (and no lse) must give the same bits. */
    static const int32_t thread_counts[] = { 1, 2, 3, 7, 0 };
    float* out2 = guarded(tc->q_count);
    float* lse2 = guarded(tc->lse_count);
    for (size_t t = 0; t < sizeof thread_counts / sizeof thread_counts[0]; ++t) {
        st = run(tc, thread_counts[t], out2, t == 0 ? NULL : lse2);
        CHECK(st == SN_OK, "status %s with %d threads", sn_status_name(st), thread_counts[t]);
        CHECK(memcmp(out, out2, sizeof(float) * (size_t)tc->q_count) == 0, "out differs with %d threads%s: %s",
              thread_counts[t], t == 0 ? " and no lse" : "", case_describe(tc));
        if (t > 0)
            CHECK(memcmp(lse, lse2, sizeof(float) * (size_t)tc->lse_count) == 0, "lse differs with %d threads: %s",
                  thread_counts[t], case_describe(tc));
    }
    free(out2);
    free(lse2);
    free(ref_out);
    free(ref_lse);
done:
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
    o.query_length = 100;
    o.key_length = 100;
    o.head_dim = 64;
    o.block_size = 32;
    o.num_layouts = 1;
    o.scale = 0.125f; /* 1/sqrt(64) */
    o.density = 0.6;
    return o;
}

static void run_named(const char* name, case_options o, uint64_t* rng)
{
    test_case tc;
    case_make(&tc, &o, rng);
    const int before = test_failures;
    check_case(&tc);
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
    o.query_length = 1;
    o.key_length = 300;
    o.causal = 1;
    o.kv_heads = 1;
    o.group = 8;
    o.num_layouts = 4;
    run_named("decode: one query against a KV cache, MQA", o, rng);

    o = base_options();
    o.query_length = o.key_length = 1;
    o.block_size = 128;
    run_named("one token", o, rng);

    o = base_options();
    o.query_length = o.key_length = 64;
    o.block_size = 64;
    o.density = 1.0;
    run_named("exactly one block", o, rng);

    o = base_options();
    o.head_dim = 8;
    o.block_size = 16;
    o.query_length = 77;
    o.key_length = 53;
    o.format = SN_FORMAT_BSHD;
    run_named("smallest head_dim and block", o, rng);

    /* The scale is used exactly as given: 0 (uniform weights over the allowed keys), negative, tiny, large. */
    static const float scales[] = { 0.0f, -0.3f, 1e-3f, 2.0f };
    static const char* const scale_names[] = { "scale 0 (uniform)", "scale -0.3", "scale 1e-3", "scale 2" };
    for (int i = 0; i < 4; ++i)
        for (int causal = 0; causal <= 1; ++causal) {
            o = base_options();
            o.scale = scales[i];
            o.causal = causal;
            run_named(scale_names[i], o, rng);
        }

    /* Scores near +-1e30 (finite, far beyond any model's): the softmax is one-hot, and a row whose scores are
     * all hugely negative is still a row with keys, not an empty one. */
    static const float huge_scales[] = { 1e30f, -1e30f };
    for (int i = 0; i < 2; ++i)
        for (int causal = 0; causal <= 1; ++causal) {
            o = base_options();
            o.scale = huge_scales[i];
            o.causal = causal;
            o.query_length = 70;
            o.key_length = 45;
            run_named(i == 0 ? "scale 1e30" : "scale -1e30", o, rng);
        }

    o = base_options();
    o.head_dim = 128;
    o.scale = 1.0f;
    o.density = 1.0;
    run_named("peaked softmax (scale 1, d 128)", o, rng);

    o = base_options();
    o.segments = 1;
    o.causal = 1;
    o.format = SN_FORMAT_BSHD;
    o.batch = 3;
    o.density = 1.0;
    o.num_layouts = 4;
    run_named("packed sequences: segments + causal + BSHD", o, rng);

    o = base_options();
    o.query_length = 300;
    o.key_length = 300;
    o.block_size = 16;
    o.num_threads = 2;
    o.empty_rows = 0.5;
    run_named("many small blocks, half the rows empty", o, rng);
}

int main(int argc, char** argv)
{
    const int cases = argc > 1 ? atoi(argv[1]) : 150;
    uint64_t rng = argc > 2 ? strtoull(argv[2], NULL, 0) : 20240601u;
    printf("%s\n", sn_build_info());
    named_cases(&rng);
    for (int i = 0; i < cases; ++i) {
        case_options o = random_options(&rng);
        test_case tc;
        case_make(&tc, &o, &rng);
        check_case(&tc);
        case_free(&tc);
    }
    printf("%d random cases + named cases, worst relative Frobenius error %.3g, %d failures\n", cases, worst_error,
           test_failures);
    return test_failures == 0 ? 0 : 1;
}
