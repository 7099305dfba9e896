/* sn_attention_forward with float16 and bfloat16 tensors (a dtype per tensor, SN_ABI_VERSION 4) against the float64
 * reference fed the same values: the inputs are rounded to their type first, so the reference sees exactly what the
 * library reads. Bounds: a float32 out within 1e-5 relative Frobenius; a float16/bfloat16 out element by element
 * within one unit in the last place of its type at the exact value, plus 1e-5 of the output's RMS (elements near
 * zero); lse within 1e-5; empty rows exactly 0 / -inf; bitwise identical for every thread count. The conversions
 * the test uses (sn_half.h, the library's own) are first checked against independent definitions.
 * Usage: test_forward_half [random_cases] [seed] */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../src/sn_half.h"
#include "reference.h"
#include "test_util.h"

#define TOLERANCE 1e-5

static size_t dtype_size(int32_t t)
{
    return t == SN_DTYPE_F32 ? 4 : 2;
}

static float widen(const void* x, int32_t t, int64_t i)
{
    if (t == SN_DTYPE_F32) return ((const float*)x)[i];
    const uint16_t h = ((const uint16_t*)x)[i];
    return t == SN_DTYPE_F16 ? sn_f16_to_f32(h) : sn_bf16_to_f32(h);
}

/* A malloc'd tensor of type t holding x rounded to it; x itself is replaced by the rounded values. */
static void* narrow(float* x, int64_t n, int32_t t)
{
    void* r = malloc(dtype_size(t) * (size_t)n);
    for (int64_t i = 0; i < n; ++i) {
        if (t == SN_DTYPE_F32) ((float*)r)[i] = x[i];
        else ((uint16_t*)r)[i] = t == SN_DTYPE_F16 ? sn_f32_to_f16(x[i]) : sn_f32_to_bf16(x[i]);
        x[i] = widen(r, t, i);
    }
    return r;
}

static double ulp(double x, int32_t t)
{
    const int mantissa = t == SN_DTYPE_F16 ? 10 : t == SN_DTYPE_BF16 ? 7 : 23;
    const int min_exponent = t == SN_DTYPE_F16 ? -14 : -126;
    int e = x == 0.0 ? min_exponent : (int)floor(log2(fabs(x)));
    if (e < min_exponent) e = min_exponent;
    return ldexp(1.0, e - mantissa);
}

static void check_conversions(void)
{
    int bad = 0;
    for (uint32_t h = 0; h <= 0xFFFFu; ++h) {
        /* binary16 by its definition: (-1)^s 2^(e-15) (1 + m/1024), subnormal 2^-14 m/1024, e = 31 inf/NaN. */
        const int s = (int)(h >> 15), e = (int)((h >> 10) & 0x1F), m = (int)(h & 0x3FF);
        const double expected = e == 31 ? (m ? NAN : INFINITY) : e == 0 ? ldexp(m, -24) : ldexp(m + 1024, e - 25);
        const double signed_expected = s ? -expected : expected;
        const float got = sn_f16_to_f32((uint16_t)h);
        if (isnan(signed_expected) ? !isnan(got) : (double)got != signed_expected) ++bad;
        if (!isnan(got) && sn_f32_to_f16(got) != (uint16_t)h) ++bad;
        if (isnan(got) && !isnan(sn_f16_to_f32(sn_f32_to_f16(got)))) ++bad;
    }
    CHECK(bad == 0, "%d float16 patterns widen or round-trip wrongly", bad);
    /* Rounding: the nearest of the two neighbours, ties to even, for random floats in and around float16's range. */
    uint64_t rng = 99;
    bad = 0;
    for (int n = 0; n < 200000; ++n) {
        const float x = (float)ldexp(rng_unit(&rng) * 2.0 - 1.0, (int)(rng_next(&rng) % 44) - 28);
        const uint16_t r = sn_f32_to_f16(x);
        const double got = sn_f16_to_f32(r), err = fabs((double)x - got);
        const double up = sn_f16_to_f32((uint16_t)(r + 1)), down = (r & 0x7FFF) ? sn_f16_to_f32((uint16_t)(r - 1)) : -got;
        const double e_up = isinf(up) ? INFINITY : fabs((double)x - up), e_down = fabs((double)x - down);
        if (!isinf(got) && (err > e_up || err > e_down || ((err == e_up || err == e_down) && (r & 1)))) ++bad;
        if (isinf(got) && fabs((double)x) < 65520.0) ++bad;
    }
    CHECK(bad == 0, "%d floats round to the wrong float16", bad);
    CHECK(sn_f32_to_f16(65519.0f) == 0x7BFF && sn_f32_to_f16(65520.0f) == 0x7C00, "float16 overflow threshold");
    CHECK(sn_f32_to_bf16(1.00390625f) == 0x3F80 && sn_f32_to_bf16(1.01171875f) == 0x3F82, "bfloat16 ties to even");
    const float snan = sn_f32_of_bits(0x7F800001u);
    CHECK(isnan(sn_bf16_to_f32(sn_f32_to_bf16(snan))) && isnan(sn_f16_to_f32(sn_f32_to_f16(snan))), "NaN stays NaN");
}

static sn_status run(const sn_problem* p, const sn_layout* layout, const void* q, const void* k, const void* v,
                     int64_t q_count, int64_t kv_count, void* out, float* lse, int64_t lse_count, int32_t threads)
{
    sn_problem call = *p;
    call.num_threads = threads;
    return sn_attention_forward(&call, layout, q, (size_t)q_count, k, (size_t)kv_count, v, (size_t)kv_count, out,
                                (size_t)q_count, lse, lse ? (size_t)lse_count : 0);
}

static void check_case(test_case* tc, int32_t qo, int32_t kv)
{
    sn_problem p = tc->p;
    p.q_dtype = p.out_dtype = qo;
    p.k_dtype = p.v_dtype = kv;
    float* q32 = malloc(sizeof(float) * (size_t)tc->q_count);
    float* k32 = malloc(sizeof(float) * (size_t)tc->kv_count);
    float* v32 = malloc(sizeof(float) * (size_t)tc->kv_count);
    memcpy(q32, tc->q, sizeof(float) * (size_t)tc->q_count);
    memcpy(k32, tc->k, sizeof(float) * (size_t)tc->kv_count);
    memcpy(v32, tc->v, sizeof(float) * (size_t)tc->kv_count);
    void* q = narrow(q32, tc->q_count, qo);
    void* k = narrow(k32, tc->kv_count, kv);
    void* v = narrow(v32, tc->kv_count, kv);
    void* out = malloc(dtype_size(qo) * (size_t)tc->q_count);
    float* lse = guarded(tc->lse_count);
    sn_status st = run(&p, &tc->layout, q, k, v, tc->q_count, tc->kv_count, out, lse, tc->lse_count, p.num_threads);
    CHECK(st == SN_OK, "status %s (%s) for dtypes %d/%d, %s", sn_status_name(st), sn_last_error(), qo, kv, case_describe(tc));
    if (st == SN_OK) {
        double* ref_out = malloc(sizeof(double) * (size_t)tc->q_count);
        double* ref_lse = malloc(sizeof(double) * (size_t)tc->lse_count);
        ref_attention(&p, &tc->layout, q32, k32, v32, ref_out, ref_lse);
        float* got = malloc(sizeof(float) * (size_t)tc->q_count);
        double rms = 0.0;
        for (int64_t i = 0; i < tc->q_count; ++i) {
            got[i] = widen(out, qo, i);
            rms += ref_out[i] * ref_out[i];
        }
        rms = sqrt(rms / (double)tc->q_count);
        if (qo == SN_DTYPE_F32) {
            const double err = rel_frobenius(got, ref_out, tc->q_count);
            CHECK(err <= TOLERANCE, "relative Frobenius error %.3g, dtypes %d/%d, %s", err, qo, kv, case_describe(tc));
        } else {
            int64_t bad = 0;
            for (int64_t i = 0; i < tc->q_count; ++i)
                bad += !(fabs((double)got[i] - ref_out[i]) <= ulp(ref_out[i], qo) + TOLERANCE * rms);
            CHECK(bad == 0, "%lld outputs off by more than one ulp, dtypes %d/%d, %s", (long long)bad, qo, kv,
                  case_describe(tc));
        }
        int64_t bad_lse = 0;
        for (int64_t r = 0; r < tc->lse_count; ++r)
            bad_lse += ref_lse[r] == -INFINITY ? lse[r] != -INFINITY
                                               : !(fabs((double)lse[r] - ref_lse[r]) <= TOLERANCE * fmax(1.0, fabs(ref_lse[r])));
        CHECK(bad_lse == 0, "%lld lse values differ, dtypes %d/%d, %s", (long long)bad_lse, qo, kv, case_describe(tc));
        /* Other thread counts: the same bits. */
        void* out2 = malloc(dtype_size(qo) * (size_t)tc->q_count);
        for (int32_t threads = 1; threads <= 3; threads += 2) {
            st = run(&p, &tc->layout, q, k, v, tc->q_count, tc->kv_count, out2, NULL, 0, threads);
            CHECK(st == SN_OK && memcmp(out, out2, dtype_size(qo) * (size_t)tc->q_count) == 0,
                  "out differs with %d threads, dtypes %d/%d, %s", threads, qo, kv, case_describe(tc));
        }
        free(out2);
        free(got);
        free(ref_out);
        free(ref_lse);
    }
    free(q); free(k); free(v); free(out); free(lse);
    free(q32); free(k32); free(v32);
}

static void check_refusals(test_case* tc)
{
    sn_problem p = tc->p;
    float out[1];
    p.k_dtype = SN_DTYPE_F16; /* v stays float32 */
    sn_status st = sn_attention_forward(&p, &tc->layout, tc->q, (size_t)tc->q_count, tc->k, (size_t)tc->kv_count, tc->v,
                                        (size_t)tc->kv_count, out, 1, NULL, 0);
    CHECK(st == SN_UNSUPPORTED && strstr(sn_last_error(), "k and v another"), "k/v dtypes differ: %s", sn_last_error());
    p = tc->p;
    p.out_dtype = 7;
    st = sn_attention_forward(&p, &tc->layout, tc->q, (size_t)tc->q_count, tc->k, (size_t)tc->kv_count, tc->v,
                              (size_t)tc->kv_count, out, 1, NULL, 0);
    CHECK(st == SN_INVALID_ARGUMENT && strstr(sn_last_error(), "problem->out_dtype = 7"), "bad dtype: %s", sn_last_error());
    /* A NaN in a bfloat16 key is found (the scan reads 16-bit elements). */
    p = tc->p;
    p.k_dtype = p.v_dtype = SN_DTYPE_BF16;
    float* k32 = malloc(sizeof(float) * (size_t)tc->kv_count);
    memcpy(k32, tc->k, sizeof(float) * (size_t)tc->kv_count);
    uint16_t* k = narrow(k32, tc->kv_count, SN_DTYPE_BF16);
    uint16_t* v = narrow(k32, tc->kv_count, SN_DTYPE_BF16);
    k[tc->kv_count - 1] = 0x7FC1;
    float* o = malloc(sizeof(float) * (size_t)tc->q_count);
    st = sn_attention_forward(&p, &tc->layout, tc->q, (size_t)tc->q_count, k, (size_t)tc->kv_count, v,
                              (size_t)tc->kv_count, o, (size_t)tc->q_count, NULL, 0);
    CHECK(st == SN_NON_FINITE && strstr(sn_last_error(), "k["), "NaN in a bfloat16 key: %s %s", sn_status_name(st), sn_last_error());
    /* The backward takes float32 only. */
    p = tc->p;
    p.q_dtype = SN_DTYPE_F16;
    st = sn_attention_backward(&p, &tc->layout, tc->q, 1, tc->k, 1, tc->v, 1, o, 1, o, 1, o, 1, o, 1, o, 1, o, 1);
    CHECK(st == SN_UNSUPPORTED && strstr(sn_last_error(), "float32 tensors only"), "backward: %s", sn_last_error());
    free(k32); free(k); free(v); free(o);
}

int main(int argc, char** argv)
{
    const int cases = argc > 1 ? atoi(argv[1]) : 30;
    uint64_t rng = argc > 2 ? strtoull(argv[2], NULL, 0) : 20261202u;
    printf("%s\n", sn_build_info());
    check_conversions();
    static const int32_t combos[][2] = {
        { SN_DTYPE_F16, SN_DTYPE_F16 }, { SN_DTYPE_BF16, SN_DTYPE_BF16 }, { SN_DTYPE_F32, SN_DTYPE_F16 },
        { SN_DTYPE_F32, SN_DTYPE_BF16 }, { SN_DTYPE_F16, SN_DTYPE_BF16 }, { SN_DTYPE_F32, SN_DTYPE_F32 },
    };
    for (int i = 0; i < cases; ++i) {
        case_options o = random_options(&rng);
        test_case tc;
        case_make(&tc, &o, &rng);
        for (size_t c = 0; c < sizeof combos / sizeof combos[0]; ++c) check_case(&tc, combos[c][0], combos[c][1]);
        if (i == 0) check_refusals(&tc);
        case_free(&tc);
    }
    printf("%d random cases x %d dtype combinations, %d failures\n", cases, (int)(sizeof combos / sizeof combos[0]),
           test_failures);
    return test_failures == 0 ? 0 : 1;
}
