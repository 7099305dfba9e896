/* CUDA vs the CPU library (libsparsenative) on random problems: every pattern feature of SEMANTICS.md
 * (random and per-head layouts, empty rows, GQA/MQA, causal bottom-right with Lq != Lk, segment ids, tails,
 * both memory formats) for f32 (block sizes 16-128, head dims 8-256) and f16/bf16 (64/128 and 64/128).
 * The CPU library runs in f32 on the very values the GPU reads (f16/bf16 inputs are rounded first).
 * Error measure: ||out_gpu - out_cpu||_2 / ||out_cpu||_2 over the whole output; tolerance 1e-5 for f32 and
 * 1e-2 for f16/bf16 (the output itself is rounded to 16 bits, and P is rounded before the PV product).
 * lse: -inf exactly where the CPU says -inf (and then out == 0 exactly), else |diff| <= tol * max(1, |lse|).
 * Exit 0 = pass, 1 = failure, 77 = skipped (no CUDA device). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "half_convert.h"
#include "sparse_native.h"
#include "sparse_native_cuda.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}
static int rnd_int(int lo, int hi) { return lo + (int)(rnd() % (uint32_t)(hi - lo + 1)); } /* [lo, hi] */
static float rnd_unit(void) { return (float)(rnd() & 0xFFFFFF) / 16777216.0f * 2.0f - 1.0f; }

static int failures = 0, cases = 0;

#define CHECK_OK(call)                                                                                   \
    do {                                                                                                 \
        const sn_status s_ = (call);                                                                     \
        if (s_ != SN_OK) {                                                                               \
            fprintf(stderr, "%s:%d: %s = %d: %s\n", __FILE__, __LINE__, #call, s_, snc_last_error());     \
            exit(1);                                                                                     \
        }                                                                                                \
    } while (0)

typedef struct {
    int B, Hq, Hkv, Lq, Lk, d, bs, lists, causal, segments, format, dtype, host_path;
    double density;
    float scale; /* used as given by both libraries (0 = uniform weights over the allowed keys) */
} test_case;

/* A random layout: each block kept with probability `density`; row 1 of every list is left empty. */
static void make_layout(const test_case* c, sn_layout* l, int32_t** rows_out, int32_t** cols_out)
{
    const int qb = (c->Lq + c->bs - 1) / c->bs, kb = (c->Lk + c->bs - 1) / c->bs;
    int32_t* rows = malloc(sizeof(int32_t) * (size_t)c->lists * (qb + 1));
    int32_t* cols = malloc(sizeof(int32_t) * (size_t)c->lists * qb * kb + 1);
    int n = 0;
    for (int list = 0; list < c->lists; ++list) {
        int32_t* off = rows + list * (qb + 1);
        off[0] = 0;
        int in_list = 0;
        for (int r = 0; r < qb; ++r) {
            for (int k = 0; k < kb; ++k)
                if (r != 1 && (double)(rnd() % 1000) < c->density * 1000.0) cols[n + in_list++] = k;
            off[r + 1] = in_list;
        }
        n += in_list;
    }
    l->block_size = c->bs;
    l->query_blocks = qb;
    l->key_blocks = kb;
    l->num_layouts = c->lists;
    l->num_col_indices = n;
    l->reserved = 0;
    l->row_offsets = rows;
    l->col_indices = cols;
    *rows_out = rows;
    *cols_out = cols;
}

/* Rounds data to the dtype in place (f32: unchanged) and writes the dtype's bit patterns to `raw`. */
static void to_dtype(float* data, size_t n, int dtype, void* raw)
{
    for (size_t i = 0; i < n; ++i) {
        if (dtype == SNC_DTYPE_F32) {
            ((float*)raw)[i] = data[i];
        } else if (dtype == SNC_DTYPE_F16) {
            const uint16_t h = snc_float_to_f16(data[i]);
            ((uint16_t*)raw)[i] = h;
            data[i] = snc_f16_to_float(h);
        } else {
            const uint16_t h = snc_float_to_bf16(data[i]);
            ((uint16_t*)raw)[i] = h;
            data[i] = snc_bf16_to_float(h);
        }
    }
}

static float from_dtype(const void* raw, size_t i, int dtype)
{
    if (dtype == SNC_DTYPE_F32) return ((const float*)raw)[i];
    if (dtype == SNC_DTYPE_F16) return snc_f16_to_float(((const uint16_t*)raw)[i]);
    return snc_bf16_to_float(((const uint16_t*)raw)[i]);
}

static void run_case(const test_case* c)
{
    ++cases;
    sn_layout layout;
    int32_t *rows, *cols;
    make_layout(c, &layout, &rows, &cols);
    const size_t nq = (size_t)c->B * c->Hq * c->Lq * c->d, nkv = (size_t)c->B * c->Hkv * c->Lk * c->d;
    const size_t nlse = (size_t)c->B * c->Hq * c->Lq, es = c->dtype == SNC_DTYPE_F32 ? 4 : 2;
    float *q = malloc(nq * 4), *k = malloc(nkv * 4), *v = malloc(nkv * 4);
    for (size_t i = 0; i < nq; ++i) q[i] = rnd_unit() * 2.0f;
    for (size_t i = 0; i < nkv; ++i) { k[i] = rnd_unit() * 2.0f; v[i] = rnd_unit(); }
    void *q_raw = malloc(nq * es), *k_raw = malloc(nkv * es), *v_raw = malloc(nkv * es), *out_raw = malloc(nq * es);
    to_dtype(q, nq, c->dtype, q_raw);
    to_dtype(k, nkv, c->dtype, k_raw);
    to_dtype(v, nkv, c->dtype, v_raw);
    int32_t *segq = NULL, *segk = NULL;
    if (c->segments) {
        segq = malloc(sizeof(int32_t) * (size_t)c->B * c->Lq);
        segk = malloc(sizeof(int32_t) * (size_t)c->B * c->Lk);
        /* Sorted runs (packed sequences) with an occasional id that no key has. */
        for (int b = 0; b < c->B; ++b) {
            for (int i = 0; i < c->Lq; ++i) segq[b * c->Lq + i] = i * 3 / c->Lq + (i % 97 == 5 ? 9 : 0);
            for (int j = 0; j < c->Lk; ++j) segk[b * c->Lk + j] = j * 3 / c->Lk;
        }
    }
    sn_problem p = { c->B, c->Hq, c->Hkv, c->Lq, c->Lk, c->d, c->format, c->causal ? SN_FLAG_CAUSAL : 0, c->scale, 0, segq, segk, 0, 0, 0, 0 };

    float *ref = malloc(nq * 4), *ref_lse = malloc(nlse * 4), *lse = malloc(nlse * 4);
    if (sn_attention_forward(&p, &layout, q, nq, k, nkv, v, nkv, ref, nq, ref_lse, nlse) != SN_OK) {
        fprintf(stderr, "CPU library failed: %s\n", sn_last_error());
        exit(1);
    }

    if (c->host_path) {
        CHECK_OK(snc_attention_forward_host(&p, &layout, c->dtype, q_raw, nq, k_raw, nkv, v_raw, nkv, out_raw, nq, lse, nlse));
    } else {
        void *dq, *dk, *dv, *dout, *dlse, *dsegq = NULL, *dsegk = NULL;
        snc_layout* dl;
        CHECK_OK(snc_layout_create(&layout, &dl));
        CHECK_OK(snc_malloc(nq * es, &dq));
        CHECK_OK(snc_malloc(nkv * es, &dk));
        CHECK_OK(snc_malloc(nkv * es, &dv));
        CHECK_OK(snc_malloc(nq * es, &dout));
        CHECK_OK(snc_malloc(nlse * 4, &dlse));
        CHECK_OK(snc_copy_to_device(dq, q_raw, nq * es, NULL));
        CHECK_OK(snc_copy_to_device(dk, k_raw, nkv * es, NULL));
        CHECK_OK(snc_copy_to_device(dv, v_raw, nkv * es, NULL));
        sn_problem pd = p;
        if (c->segments) {
            CHECK_OK(snc_malloc(sizeof(int32_t) * (size_t)c->B * c->Lq, &dsegq));
            CHECK_OK(snc_malloc(sizeof(int32_t) * (size_t)c->B * c->Lk, &dsegk));
            CHECK_OK(snc_copy_to_device(dsegq, segq, sizeof(int32_t) * (size_t)c->B * c->Lq, NULL));
            CHECK_OK(snc_copy_to_device(dsegk, segk, sizeof(int32_t) * (size_t)c->B * c->Lk, NULL));
            pd.query_segment_ids = dsegq;
            pd.key_segment_ids = dsegk;
        }
        /* Twice on the same uploaded layout: the second result must be identical (layout reuse, determinism). */
        CHECK_OK(snc_attention_forward_device(&pd, dl, c->dtype, dq, dk, dv, dout, dlse, NULL));
        CHECK_OK(snc_synchronize(NULL));
        CHECK_OK(snc_copy_to_host(out_raw, dout, nq * es, NULL));
        CHECK_OK(snc_attention_forward_device(&pd, dl, c->dtype, dq, dk, dv, dout, dlse, NULL));
        CHECK_OK(snc_synchronize(NULL));
        void* again = malloc(nq * es);
        CHECK_OK(snc_copy_to_host(again, dout, nq * es, NULL));
        CHECK_OK(snc_copy_to_host(lse, dlse, nlse * 4, NULL));
        if (memcmp(again, out_raw, nq * es) != 0) {
            fprintf(stderr, "FAIL case %d: second call on the same layout differs\n", cases);
            ++failures;
        }
        free(again);
        snc_free(dq); snc_free(dk); snc_free(dv); snc_free(dout); snc_free(dlse); snc_free(dsegq); snc_free(dsegk);
        CHECK_OK(snc_layout_destroy(dl));
    }

    const double tol = c->dtype == SNC_DTYPE_F32 ? 1e-5 : 1e-2;
    double diff2 = 0.0, ref2 = 0.0, lse_err = 0.0;
    int bad_empty = 0;
    for (size_t i = 0; i < nq; ++i) {
        const double g = from_dtype(out_raw, i, c->dtype), r = ref[i];
        diff2 += (g - r) * (g - r);
        ref2 += r * r;
    }
    for (size_t i = 0; i < nlse; ++i) {
        if (isinf(ref_lse[i]) && ref_lse[i] < 0) {
            if (!(isinf(lse[i]) && lse[i] < 0)) ++bad_empty;
            /* out of an empty row must be exactly 0: check its d values (row i of [B, Hq, Lq]) */
            const size_t bh = i / (size_t)c->Lq, t = i % (size_t)c->Lq;
            const size_t b = bh / (size_t)c->Hq, h = bh % (size_t)c->Hq;
            const size_t base = c->format == SN_FORMAT_BHSD ? i * (size_t)c->d
                                                            : ((b * c->Lq + t) * c->Hq + h) * (size_t)c->d;
            for (int j = 0; j < c->d; ++j)
                if (from_dtype(out_raw, base + j, c->dtype) != 0.0f) { ++bad_empty; break; }
        } else {
            const double e = fabs((double)lse[i] - ref_lse[i]) / fmax(1.0, fabs(ref_lse[i]));
            if (!(e <= lse_err)) lse_err = isnan(e) ? INFINITY : fmax(lse_err, e);
        }
    }
    const double rel = ref2 > 0 ? sqrt(diff2 / ref2) : sqrt(diff2);
    const int ok = rel <= tol && lse_err <= tol && bad_empty == 0;
    printf("%s case %3d: dtype=%d B=%d Hq=%d Hkv=%d Lq=%d Lk=%d d=%d bs=%d lists=%d causal=%d seg=%d fmt=%d %s "
           "density=%.2f  rel_err=%.2e lse_err=%.2e bad_empty_rows=%d (tol %.0e)\n",
           ok ? "ok  " : "FAIL", cases, c->dtype, c->B, c->Hq, c->Hkv, c->Lq, c->Lk, c->d, c->bs, c->lists, c->causal,
           c->segments, c->format, c->host_path ? "host" : "device", c->density, rel, lse_err, bad_empty, tol);
    if (!ok) ++failures;
    free(q); free(k); free(v); free(q_raw); free(k_raw); free(v_raw); free(out_raw);
    free(ref); free(ref_lse); free(lse); free(segq); free(segk); free(rows); free(cols);
}

static test_case random_case(int dtype)
{
    static const int f32_dims[] = { 8, 24, 64, 72, 128, 136, 256 };
    static const int f32_blocks[] = { 16, 32, 64, 128 };
    test_case c;
    memset(&c, 0, sizeof c);
    c.dtype = dtype;
    c.Hkv = rnd_int(1, 2);
    c.Hq = c.Hkv * rnd_int(1, 3);
    c.B = rnd_int(1, 2);
    if (dtype == SNC_DTYPE_F32) {
        c.d = f32_dims[rnd() % 7];
        c.bs = f32_blocks[rnd() % 4];
    } else {
        c.d = rnd() % 2 ? 64 : 128;
        c.bs = rnd() % 2 ? 64 : 128;
    }
    c.Lq = rnd_int(1, 5 * c.bs);
    c.Lk = rnd() % 3 == 0 ? rnd_int(1, 5 * c.bs) : c.Lq; /* cross attention / decode shapes a third of the time */
    c.lists = rnd() % 2 ? 1 : c.Hq;
    c.causal = rnd() % 2;
    c.segments = rnd() % 4 == 0;
    c.format = rnd() % 2;
    c.host_path = rnd() % 4 == 0;
    c.density = (double)rnd_int(30, 100) / 100.0;
    c.scale = rnd() % 2 ? 1.0f / sqrtf((float)c.d) : rnd_unit() * 0.5f; /* the usual one, or any other */
    return c;
}

int main(void)
{
    int32_t devices = 0;
    CHECK_OK(snc_device_count(&devices));
    if (devices == 0) {
        printf("SKIP: no CUDA device (%s)\n", snc_last_error());
        return 77;
    }
    char name[256];
    CHECK_OK(snc_device_name(0, name, (int32_t)sizeof name));
    printf("device 0: %s\n%s\n", name, snc_build_info());

    /* Fixed corner cases first: one block, a query longer than the keys under causal (fully masked rows),
     * MQA with per-head layouts, 128-blocks with a tail of one token, dense. */
    const test_case fixed[] = {
        { 1, 1, 1, 1, 1, 64, 64, 1, 0, 0, 0, SNC_DTYPE_F32, 0, 1.0, 0.125f },
        { 1, 2, 1, 300, 100, 64, 64, 2, 1, 0, 0, SNC_DTYPE_F32, 0, 1.0, 0.125f },
        { 1, 2, 1, 300, 100, 64, 64, 2, 1, 0, 0, SNC_DTYPE_F16, 0, 1.0, 0.125f },
        { 2, 4, 1, 257, 257, 128, 128, 4, 1, 1, 1, SNC_DTYPE_BF16, 0, 0.7, 0.0883883f },
        { 2, 4, 1, 257, 257, 128, 128, 4, 1, 1, 1, SNC_DTYPE_F32, 0, 0.7, 0.0883883f },
        { 1, 2, 2, 129, 1000, 128, 128, 1, 1, 0, 0, SNC_DTYPE_F16, 1, 1.0, 0.0883883f },
        { 1, 3, 3, 200, 200, 40, 16, 3, 0, 1, 1, SNC_DTYPE_F32, 1, 0.5, 0.158114f },
        /* Scales used as given: 0 (uniform), negative, large. */
        { 1, 2, 1, 150, 100, 64, 64, 1, 1, 0, 0, SNC_DTYPE_F32, 1, 0.8, 0.0f },
        { 1, 2, 1, 150, 100, 64, 64, 1, 0, 0, 1, SNC_DTYPE_F16, 0, 0.8, 0.0f },
        { 1, 2, 1, 150, 100, 64, 64, 1, 1, 0, 0, SNC_DTYPE_BF16, 1, 0.8, -0.3f },
        { 1, 2, 1, 150, 100, 32, 32, 1, 0, 0, 1, SNC_DTYPE_F32, 0, 0.8, 2.0f },
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; ++i) run_case(&fixed[i]);
    /* SNC_TEST_RANDOM_CASES (default 40 per precision family) shortens runs under compute-sanitizer. */
    const char* env = getenv("SNC_TEST_RANDOM_CASES");
    const int random_cases = env != NULL && atoi(env) > 0 ? atoi(env) : 40;
    for (int i = 0; i < random_cases; ++i) {
        test_case c = random_case(SNC_DTYPE_F32);
        run_case(&c);
    }
    for (int i = 0; i < random_cases; ++i) {
        test_case c = random_case(i % 2 ? SNC_DTYPE_BF16 : SNC_DTYPE_F16);
        run_case(&c);
    }

    /* An unsupported combination is refused with a message, not run. */
    sn_problem p = { 1, 1, 1, 64, 64, 96, SN_FORMAT_BHSD, 0, 0.0f, 0, NULL, NULL, 0, 0, 0, 0 };
    int32_t offs[2] = { 0, 1 }, col = 0;
    sn_layout l = { 64, 1, 1, 1, 1, 0, offs, &col };
    uint16_t buf[64 * 96];
    const sn_status s = snc_attention_forward_host(&p, &l, SNC_DTYPE_F16, buf, 64 * 96, buf, 64 * 96, buf, 64 * 96,
                                                   buf, 64 * 96, NULL, 0);
    if (s != SN_UNSUPPORTED || strstr(snc_last_error(), "head_dim = 96") == NULL) {
        fprintf(stderr, "FAIL: f16 head_dim 96 gave status %d '%s'\n", s, snc_last_error());
        ++failures;
    }

    printf("%d cases, %d failures\n", cases, failures);
    return failures == 0 ? 0 : 1;
}
