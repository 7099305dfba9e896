/* The CUDA backward (run here on the CPU emulation) against the CPU library's sn_attention_backward and the
 * float64 reference backward (native/tests/reference.c) on random problems (random_options: GQA, causal with
 * Lq != Lk, segment ids, tails, empty rows, both formats, odd head dims, custom scales) and fixed corner cases.
 * Per case: relative Frobenius error of dq, dk, dv <= 1e-4 against the reference and against the CPU library;
 * exact zeros where nothing contributes (dq of empty rows, dk/dv of keys no query attends); every element
 * written and none beyond; the device entry point gives bitwise the same gradients as the host one, and a
 * repeated call the same bits (no atomics). Then the validation: the host entry point reports the CPU
 * library's status and message for the same faults; the device entry point's own checks. Then one uploaded layout
 * shared by concurrent first backward calls (its lazily built transpose: built once, same bits as the host entry
 * point), and a layout declaring 2^31 - 1 key blocks uploads under a 2 GiB data limit (no transpose at upload).
 * Usage: test_cuda_backward [random_cases] [seed]. Exit 0 = pass, 1 = failure. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "half_convert.h"
#include "reference.h"
#include "sparse_native_cuda.h"
#include "test_util.h"

#define TOLERANCE 1e-4

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SN_HAS_ASAN 1
#endif
#endif
#ifndef SN_HAS_ASAN
#define SN_HAS_ASAN 0
#endif

static int all_written(const float* x, int64_t n)
{
    for (int64_t i = 0; i < n; ++i)
        if (x[i] == TEST_SENTINEL || isnan(x[i])) return 0;
    return 1;
}

/* Relative Frobenius error of float a against float b (as the reference). */
static double rel_float(const float* a, const float* b, int64_t n)
{
    double num = 0.0, den = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        const double diff = (double)a[i] - (double)b[i];
        num += diff * diff;
        den += (double)b[i] * b[i];
    }
    return den == 0.0 ? (num == 0.0 ? 0.0 : INFINITY) : sqrt(num / den);
}

/* dq of every empty row (lse = -inf: no allowed key) is exactly zero. */
static int empty_rows_zero(const sn_problem* p, const float* dq, const float* lse)
{
    for (int32_t b = 0; b < p->batch; ++b)
        for (int32_t h = 0; h < p->query_heads; ++h)
            for (int32_t t = 0; t < p->query_length; ++t) {
                if (lse[((int64_t)b * p->query_heads + h) * p->query_length + t] != -INFINITY) continue;
                const int64_t at = ref_index(p->format, p->query_heads, p->query_length, p->head_dim, b, h, t, 0);
                for (int32_t c = 0; c < p->head_dim; ++c)
                    if (dq[at + c] != 0.0f) return 0;
            }
    return 1;
}

/* Rows (of head_dim elements, in memory order: both formats keep a token's channels contiguous) where the
 * reference is exactly zero must be exactly zero: nothing contributes there (in float64 a zero row of dq or dv
 * is structural, the inputs being nonzero: dv = P^T dO with P >= 0; then dS = 0 too, so dk's row is zero). */
static int zero_rows_match(const float* x, const double* ref, int64_t n, int32_t d)
{
    for (int64_t r = 0; r < n / d; ++r) {
        int ref_zero = 1;
        for (int32_t c = 0; c < d; ++c) ref_zero &= ref[r * d + c] == 0.0;
        if (!ref_zero) continue;
        for (int32_t c = 0; c < d; ++c)
            if (x[r * d + c] != 0.0f) return 0;
    }
    return 1;
}

typedef struct grads { float *dq, *dk, *dv; } grads;

static grads grads_alloc(const test_case* tc)
{
    grads g = { guarded(tc->q_count), guarded(tc->kv_count), guarded(tc->kv_count) };
    return g;
}

static void grads_free(grads* g)
{
    free(g->dq);
    free(g->dk);
    free(g->dv);
}

static sn_status cuda_backward_host(const test_case* tc, const float* out, const float* lse, const float* dout,
                                    const grads* g)
{
    const size_t qn = (size_t)tc->q_count, kn = (size_t)tc->kv_count;
    return snc_attention_backward_host(&tc->p, &tc->layout, SNC_DTYPE_F32, tc->q, qn, tc->k, kn, tc->v, kn, out, qn, lse,
                                       (size_t)tc->lse_count, dout, qn, g->dq, qn, g->dk, kn, g->dv, kn);
}

static void* to_device(const void* host, size_t bytes)
{
    void* dev = NULL;
    if (bytes == 0) return NULL;
    if (snc_malloc(bytes, &dev) != SN_OK || snc_copy_to_device(dev, host, bytes, NULL) != SN_OK) {
        fprintf(stderr, "device upload failed: %s\n", snc_last_error());
        exit(1);
    }
    return dev;
}

/* The device entry point on copies of everything (segment ids included), tensors of `dtype` (es bytes each);
 * gradients copied back into dq_out, dk_out, dv_out. */
static sn_status cuda_backward_device_typed(const test_case* tc, int32_t dtype, size_t es, const void* qh,
                                            const void* kh, const void* vh, const void* out, const float* lse,
                                            const void* dout, void* dq_out, void* dk_out, void* dv_out)
{
    const size_t qb = es * (size_t)tc->q_count, kb = es * (size_t)tc->kv_count;
    sn_problem p = tc->p;
    void* segq = NULL;
    void* segk = NULL;
    if (p.query_segment_ids != NULL) {
        segq = to_device(p.query_segment_ids, sizeof(int32_t) * (size_t)p.batch * (size_t)p.query_length);
        segk = to_device(p.key_segment_ids, sizeof(int32_t) * (size_t)p.batch * (size_t)p.key_length);
        p.query_segment_ids = segq;
        p.key_segment_ids = segk;
    }
    void *q = to_device(qh, qb), *k = to_device(kh, kb), *v = to_device(vh, kb), *o = to_device(out, qb);
    void *l = to_device(lse, sizeof(float) * (size_t)tc->lse_count), *go = to_device(dout, qb);
    void *dq = NULL, *dk = NULL, *dv = NULL;
    snc_layout* layout = NULL;
    sn_status s = snc_malloc(qb, &dq);
    if (s == SN_OK) s = snc_malloc(kb, &dk);
    if (s == SN_OK) s = snc_malloc(kb, &dv);
    if (s == SN_OK) s = snc_layout_create(&tc->layout, &layout);
    if (s == SN_OK) s = snc_attention_backward(&p, layout, dtype, q, k, v, o, l, go, dq, dk, dv, NULL);
    if (s == SN_OK) s = snc_synchronize(NULL);
    if (s == SN_OK) s = snc_copy_to_host(dq_out, dq, qb, NULL);
    if (s == SN_OK) s = snc_copy_to_host(dk_out, dk, kb, NULL);
    if (s == SN_OK) s = snc_copy_to_host(dv_out, dv, kb, NULL);
    snc_layout_destroy(layout);
    void* all[] = { segq, segk, q, k, v, o, l, go, dq, dk, dv };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i) snc_free(all[i]);
    return s;
}

static sn_status cuda_backward_device(const test_case* tc, const float* out, const float* lse, const float* dout,
                                      const grads* g)
{
    return cuda_backward_device_typed(tc, SNC_DTYPE_F32, sizeof(float), tc->q, tc->k, tc->v, out, lse, dout, g->dq,
                                      g->dk, g->dv);
}

static void check_case(test_case* tc, uint64_t* rng)
{
    const char* what = case_describe(tc);
    const int64_t qn = tc->q_count, kn = tc->kv_count;
    float* out = malloc(sizeof(float) * (size_t)qn);
    float* lse = malloc(sizeof(float) * (size_t)tc->lse_count);
    float* dout = malloc(sizeof(float) * (size_t)qn);
    for (int64_t i = 0; i < qn; ++i) dout[i] = rng_nonzero(rng);
    tc->p.num_threads = 1;
    if (sn_attention_forward(&tc->p, &tc->layout, tc->q, (size_t)qn, tc->k, (size_t)kn, tc->v, (size_t)kn, out,
                             (size_t)qn, lse, (size_t)tc->lse_count) != SN_OK) {
        CHECK(0, "%s: CPU forward failed: %s", what, sn_last_error());
        free(out);
        free(lse);
        free(dout);
        return;
    }

    grads cpu = grads_alloc(tc), host = grads_alloc(tc), again = grads_alloc(tc), dev = grads_alloc(tc);
    CHECK(sn_attention_backward(&tc->p, &tc->layout, tc->q, (size_t)qn, tc->k, (size_t)kn, tc->v, (size_t)kn, out,
                                (size_t)qn, lse, (size_t)tc->lse_count, dout, (size_t)qn, cpu.dq, (size_t)qn, cpu.dk,
                                (size_t)kn, cpu.dv, (size_t)kn) == SN_OK,
          "%s: CPU backward: %s", what, sn_last_error());
    sn_status s = cuda_backward_host(tc, out, lse, dout, &host);
    CHECK(s == SN_OK, "%s: snc_attention_backward_host = %d: %s", what, s, snc_last_error());
    s = cuda_backward_host(tc, out, lse, dout, &again);
    CHECK(s == SN_OK, "%s: repeated call = %d: %s", what, s, snc_last_error());
    s = cuda_backward_device(tc, out, lse, dout, &dev);
    CHECK(s == SN_OK, "%s: snc_attention_backward = %d: %s", what, s, snc_last_error());

    double *q64 = ref_widen(tc->q, qn), *k64 = ref_widen(tc->k, kn), *v64 = ref_widen(tc->v, kn);
    double* g64 = ref_widen(dout, qn);
    double* rdq = malloc(sizeof(double) * (size_t)qn);
    double* rdk = malloc(sizeof(double) * (size_t)kn);
    double* rdv = malloc(sizeof(double) * (size_t)kn);
    ref_attention_backward(&tc->p, &tc->layout, q64, k64, v64, g64, rdq, rdk, rdv);

    const struct { const char* name; const float *x, *cpu, *again, *dev; const double* ref; int64_t n; } t[] = {
        { "dq", host.dq, cpu.dq, again.dq, dev.dq, rdq, qn },
        { "dk", host.dk, cpu.dk, again.dk, dev.dk, rdk, kn },
        { "dv", host.dv, cpu.dv, again.dv, dev.dv, rdv, kn },
    };
    for (int i = 0; i < 3; ++i) {
        const double vs_ref = rel_frobenius(t[i].x, t[i].ref, t[i].n);
        const double vs_cpu = rel_float(t[i].x, t[i].cpu, t[i].n);
        /* A reference of exactly zero with a nonzero float result (single-key rows cancel exactly in float64):
         * compare with the CPU library instead, which shows the same float residue. */
        CHECK(vs_ref <= TOLERANCE || (vs_ref == INFINITY && vs_cpu <= TOLERANCE), "%s: %s vs reference %.3g", what,
              t[i].name, vs_ref);
        CHECK(vs_cpu <= TOLERANCE || (vs_cpu == INFINITY && vs_ref <= TOLERANCE), "%s: %s vs CPU library %.3g", what,
              t[i].name, vs_cpu);
        CHECK(all_written(t[i].x, t[i].n) && guard_intact(t[i].x, t[i].n), "%s: %s not exactly written", what,
              t[i].name);
        CHECK(memcmp(t[i].x, t[i].again, sizeof(float) * (size_t)t[i].n) == 0, "%s: %s differs between calls", what,
              t[i].name);
        CHECK(memcmp(t[i].x, t[i].dev, sizeof(float) * (size_t)t[i].n) == 0, "%s: %s device != host entry point",
              what, t[i].name);
    }
    CHECK(empty_rows_zero(&tc->p, host.dq, lse), "%s: dq of an empty row is not exactly 0", what);
    CHECK(zero_rows_match(host.dv, rdv, kn, tc->p.head_dim), "%s: dv of an unattended key is not exactly 0", what);
    CHECK(zero_rows_match(host.dk, rdv, kn, tc->p.head_dim), "%s: dk of an unattended key is not exactly 0", what);

    free(q64);
    free(k64);
    free(v64);
    free(g64);
    free(rdq);
    free(rdk);
    free(rdv);
    grads_free(&cpu);
    grads_free(&host);
    grads_free(&again);
    grads_free(&dev);
    free(out);
    free(lse);
    free(dout);
}

static case_options fixed(int32_t group, int32_t lq, int32_t lk, int32_t d, int32_t bs, int32_t causal,
                          int32_t segments, int32_t format, double empty_rows)
{
    case_options o;
    memset(&o, 0, sizeof o);
    o.batch = 2;
    o.kv_heads = 2;
    o.group = group;
    o.query_length = lq;
    o.key_length = lk;
    o.head_dim = d;
    o.block_size = bs;
    o.num_layouts = 2;
    o.format = format;
    o.causal = causal;
    o.segments = segments;
    o.scale = 0.37f;
    o.density = 0.7;
    o.empty_rows = empty_rows;
    return o;
}

/* The host entry point must answer a fault exactly like the CPU library (one validation). */
static void check_same_fault(const char* what, const test_case* tc, const float* q, size_t q_len, const float* out,
                             const float* lse, size_t lse_len, const float* dout, float* dq, float* dk, size_t dk_len,
                             float* dv)
{
    const size_t qn = (size_t)tc->q_count, kn = (size_t)tc->kv_count;
    const sn_status cpu = sn_attention_backward(&tc->p, &tc->layout, q, q_len, tc->k, kn, tc->v, kn, out, qn, lse,
                                                lse_len, dout, qn, dq, qn, dk, dk_len, dv, kn);
    char cpu_message[512];
    snprintf(cpu_message, sizeof cpu_message, "%s", sn_last_error());
    const sn_status cuda = snc_attention_backward_host(&tc->p, &tc->layout, SNC_DTYPE_F32, q, q_len, tc->k, kn, tc->v,
                                                       kn, out, qn, lse, lse_len, dout, qn, dq, qn, dk, dk_len, dv, kn);
    CHECK(cpu != SN_OK && cuda == cpu && strcmp(cpu_message, snc_last_error()) == 0,
          "%s: CPU %d \"%s\", CUDA %d \"%s\"", what, cpu, cpu_message, cuda, snc_last_error());
}

static void check_validation(uint64_t* rng)
{
    test_case tc;
    case_options o = fixed(2, 40, 40, 16, 16, 0, 0, 0, 0.0);
    case_make(&tc, &o, rng);
    const size_t qn = (size_t)tc.q_count, kn = (size_t)tc.kv_count, ln = (size_t)tc.lse_count;
    float* out = calloc(qn, sizeof(float));
    float* lse = calloc(ln, sizeof(float));
    float* dout = calloc(qn, sizeof(float));
    float* dq = calloc(qn, sizeof(float));
    float* dk = calloc(kn, sizeof(float));
    float* dv = calloc(kn, sizeof(float));

    check_same_fault("lse NULL", &tc, tc.q, qn, out, NULL, 0, dout, dq, dk, kn, dv);
    check_same_fault("dk_len short", &tc, tc.q, qn, out, lse, ln, dout, dq, dk, kn - 1, dv);
    check_same_fault("q_len short", &tc, tc.q, qn - 1, out, lse, ln, dout, dq, dk, kn, dv);
    check_same_fault("dq overlaps dout", &tc, tc.q, qn, out, lse, ln, dout, dout, dk, kn, dv);
    check_same_fault("dv is dk", &tc, tc.q, qn, out, lse, ln, dout, dq, dk, kn, dk);
    dout[5] = NAN;
    check_same_fault("NaN in dout", &tc, tc.q, qn, out, lse, ln, dout, dq, dk, kn, dv);
    dout[5] = 0.0f;
    lse[3] = INFINITY;
    check_same_fault("+inf in lse", &tc, tc.q, qn, out, lse, ln, dout, dq, dk, kn, dv);
    lse[3] = 0.0f;

    sn_status s = snc_attention_backward_host(&tc.p, &tc.layout, SNC_DTYPE_F16, tc.q, qn, tc.k, kn, tc.v, kn, out, qn,
                                              lse, ln, dout, qn, dq, qn, dk, kn, dv, kn);
    /* head_dim 16, block size 16: beyond the 16-bit kernels' limits (those of the forward that made out and lse). */
    CHECK(s == SN_UNSUPPORTED && strstr(snc_last_error(), "f16") != NULL, "f16 backward at d 16: %d %s", s,
          snc_last_error());
    s = snc_attention_backward_host(&tc.p, &tc.layout, 7, tc.q, qn, tc.k, kn, tc.v, kn, out, qn, lse, ln, dout, qn, dq,
                                    qn, dk, kn, dv, kn);
    CHECK(s == SN_INVALID_ARGUMENT && strstr(snc_last_error(), "dtype = 7") != NULL, "dtype 7: %d %s", s,
          snc_last_error());

    /* The device entry point: its layout handle, NULLs, alignment, overlaps. Host memory stands in for device
     * memory in the emulation; nothing runs when a check fails. */
    snc_layout* layout = NULL;
    CHECK(snc_layout_create(&tc.layout, &layout) == SN_OK, "layout: %s", snc_last_error());
    s = snc_attention_backward(&tc.p, NULL, SNC_DTYPE_F32, tc.q, tc.k, tc.v, out, lse, dout, dq, dk, dv, NULL);
    CHECK(s == SN_INVALID_ARGUMENT && strstr(snc_last_error(), "layout") != NULL, "layout NULL: %d %s", s,
          snc_last_error());
    s = snc_attention_backward(&tc.p, layout, SNC_DTYPE_F32, tc.q, tc.k, tc.v, out, lse, NULL, dq, dk, dv, NULL);
    CHECK(s == SN_INVALID_ARGUMENT && strstr(snc_last_error(), "dout") != NULL, "dout NULL: %d %s", s, snc_last_error());
    s = snc_attention_backward(&tc.p, layout, SNC_DTYPE_F32, tc.q, tc.k, tc.v, out, lse, dout, dq, dk, dv + 1, NULL);
    CHECK(s == SN_INVALID_ARGUMENT && strstr(snc_last_error(), "16-byte") != NULL, "dv misaligned: %d %s", s,
          snc_last_error());
    s = snc_attention_backward(&tc.p, layout, SNC_DTYPE_F32, tc.q, tc.k, tc.v, out, lse, dout, dq, tc.k, dv, NULL);
    CHECK(s == SN_INVALID_ARGUMENT && strstr(snc_last_error(), "dk overlaps k") != NULL, "dk = k: %d %s", s,
          snc_last_error());
    s = snc_attention_backward(&tc.p, layout, SNC_DTYPE_BF16, tc.q, tc.k, tc.v, out, lse, dout, dq, dk, dv, NULL);
    CHECK(s == SN_UNSUPPORTED, "bf16 device backward at d 16: %d %s", s, snc_last_error());
    sn_problem wrong = tc.p;
    wrong.query_length += 16;
    s = snc_attention_backward(&wrong, layout, SNC_DTYPE_F32, tc.q, tc.k, tc.v, out, lse, dout, dq, dk, dv, NULL);
    CHECK(s == SN_INVALID_LAYOUT, "layout does not fit: %d %s", s, snc_last_error());
    snc_layout_destroy(layout);

    free(out);
    free(lse);
    free(dout);
    free(dq);
    free(dk);
    free(dv);
    case_free(&tc);
}

/* 16-bit storage of a float array (the values the kernels read), and its exact widening. */
static uint16_t* narrow(int32_t dtype, const float* x, int64_t n, int64_t extra)
{
    uint16_t* h = malloc(sizeof(uint16_t) * (size_t)(n + extra));
    for (int64_t i = 0; i < n; ++i) h[i] = dtype == SNC_DTYPE_F16 ? snc_float_to_f16(x[i]) : snc_float_to_bf16(x[i]);
    for (int64_t i = n; i < n + extra; ++i) h[i] = 0xABCDu; /* guard */
    return h;
}

static double* widen16(int32_t dtype, const uint16_t* h, int64_t n)
{
    double* x = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    for (int64_t i = 0; i < n; ++i) x[i] = dtype == SNC_DTYPE_F16 ? snc_f16_to_float(h[i]) : snc_bf16_to_float(h[i]);
    return x;
}

static double rel_frobenius_64(const double* x, const double* ref, int64_t n)
{
    double num = 0.0, den = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        num += (x[i] - ref[i]) * (x[i] - ref[i]);
        den += ref[i] * ref[i];
    }
    return den > 0.0 ? sqrt(num / den) : (num > 0.0 ? INFINITY : 0.0);
}

/* The f16/bf16 backward: the CUDA forward of the 16-bit inputs gives out (16-bit) and lse; the backward of the
 * 16-bit q, k, v, out, dout against the float64 reference backward of the same (exactly widened) q, k, v, dout.
 * The reference's D uses its exact O and its gradients are not rounded, so the bound covers one rounding of O
 * (through D) and of each gradient: relative Frobenius error <= 1e-3 for f16 (unit roundoff 2^-11; measured worst
 * 2.9e-4), 1e-2 for bf16 (2^-8; measured worst 2.4e-3). Every element written and none beyond, a repeated call and the device entry point bitwise equal. */
static double check_half_case(int32_t dtype, const case_options* o, uint64_t* rng)
{
    test_case tc;
    case_make(&tc, o, rng);
    const char* what = case_describe(&tc);
    const char* type = dtype == SNC_DTYPE_F16 ? "f16" : "bf16";
    const int64_t qn = tc.q_count, kn = tc.kv_count, ln = tc.lse_count;
    enum { GUARD = 8 };
    uint16_t *qh = narrow(dtype, tc.q, qn, 0), *kh = narrow(dtype, tc.k, kn, 0), *vh = narrow(dtype, tc.v, kn, 0);
    float* dout32 = malloc(sizeof(float) * (size_t)qn);
    for (int64_t i = 0; i < qn; ++i) dout32[i] = rng_nonzero(rng);
    uint16_t* douth = narrow(dtype, dout32, qn, 0);
    uint16_t* outh = narrow(dtype, dout32, qn, 0); /* overwritten by the forward */
    float* lse = malloc(sizeof(float) * (size_t)ln);
    sn_status s = snc_attention_forward_host(&tc.p, &tc.layout, dtype, qh, (size_t)qn, kh, (size_t)kn, vh, (size_t)kn,
                                             outh, (size_t)qn, lse, (size_t)ln);
    CHECK(s == SN_OK, "%s %s: forward: %d %s", type, what, s, snc_last_error());
    uint16_t *dq = narrow(dtype, dout32, qn, GUARD), *dk = narrow(dtype, tc.k, kn, GUARD), *dv = narrow(dtype, tc.v, kn, GUARD);
    uint16_t *dq2 = narrow(dtype, dout32, qn, 0), *dk2 = narrow(dtype, tc.k, kn, 0), *dv2 = narrow(dtype, tc.v, kn, 0);
    uint16_t *dq3 = narrow(dtype, dout32, qn, 0), *dk3 = narrow(dtype, tc.k, kn, 0), *dv3 = narrow(dtype, tc.v, kn, 0);
    for (int64_t i = 0; i < qn; ++i) dq[i] = 0xFFFFu; /* NaN: an element left unwritten shows */
    for (int64_t i = 0; i < kn; ++i) dk[i] = dv[i] = 0xFFFFu;
    double worst = 0.0;
    if (s == SN_OK) {
        s = snc_attention_backward_host(&tc.p, &tc.layout, dtype, qh, (size_t)qn, kh, (size_t)kn, vh, (size_t)kn, outh,
                                        (size_t)qn, lse, (size_t)ln, douth, (size_t)qn, dq, (size_t)qn, dk, (size_t)kn,
                                        dv, (size_t)kn);
        CHECK(s == SN_OK, "%s %s: backward: %d %s", type, what, s, snc_last_error());
        s = snc_attention_backward_host(&tc.p, &tc.layout, dtype, qh, (size_t)qn, kh, (size_t)kn, vh, (size_t)kn, outh,
                                        (size_t)qn, lse, (size_t)ln, douth, (size_t)qn, dq2, (size_t)qn, dk2, (size_t)kn,
                                        dv2, (size_t)kn);
        CHECK(s == SN_OK, "%s %s: repeated backward: %d %s", type, what, s, snc_last_error());
        s = cuda_backward_device_typed(&tc, dtype, sizeof(uint16_t), qh, kh, vh, outh, lse, douth, dq3, dk3, dv3);
        CHECK(s == SN_OK, "%s %s: device backward: %d %s", type, what, s, snc_last_error());

        double *q64 = widen16(dtype, qh, qn), *k64 = widen16(dtype, kh, kn), *v64 = widen16(dtype, vh, kn);
        double* g64 = widen16(dtype, douth, qn);
        double* rdq = malloc(sizeof(double) * (size_t)qn);
        double* rdk = malloc(sizeof(double) * (size_t)kn);
        double* rdv = malloc(sizeof(double) * (size_t)kn);
        ref_attention_backward(&tc.p, &tc.layout, q64, k64, v64, g64, rdq, rdk, rdv);
        const double bound = dtype == SNC_DTYPE_F16 ? 1e-3 : 1e-2;
        const struct { const char* name; const uint16_t *x, *again, *dev; const double* ref; int64_t n; } t[] = {
            { "dq", dq, dq2, dq3, rdq, qn }, { "dk", dk, dk2, dk3, rdk, kn }, { "dv", dv, dv2, dv3, rdv, kn } };
        for (int i = 0; i < 3; ++i) {
            double* x64 = widen16(dtype, t[i].x, t[i].n);
            const double err = rel_frobenius_64(x64, t[i].ref, t[i].n);
            worst = err > worst ? err : worst;
            CHECK(err <= bound, "%s %s: %s vs reference %.3g (bound %.0e)", type, what, t[i].name, err, bound);
            int written = 1, guard = 1;
            for (int64_t e = 0; e < t[i].n; ++e) written &= x64[e] == x64[e];
            for (int64_t e = t[i].n; e < t[i].n + GUARD; ++e) guard &= t[i].x[e] == 0xABCDu;
            CHECK(written && guard, "%s %s: %s not exactly written", type, what, t[i].name);
            CHECK(memcmp(t[i].x, t[i].again, sizeof(uint16_t) * (size_t)t[i].n) == 0, "%s %s: %s differs between calls",
                  type, what, t[i].name);
            CHECK(memcmp(t[i].x, t[i].dev, sizeof(uint16_t) * (size_t)t[i].n) == 0,
                  "%s %s: %s device != host entry point", type, what, t[i].name);
            free(x64);
        }
        free(q64);
        free(k64);
        free(v64);
        free(g64);
        free(rdq);
        free(rdk);
        free(rdv);
    }
    void* all[] = { qh, kh, vh, dout32, douth, outh, lse, dq, dk, dv, dq2, dk2, dv2, dq3, dk3, dv3 };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i) free(all[i]);
    case_free(&tc);
    return worst;
}

/* The f16/bf16 backward's own limits and data scan: the forward's head-dim/block-size limits, NaN in 16-bit dout. */
static void check_half_validation(uint64_t* rng)
{
    test_case tc;
    case_options o = fixed(1, 64, 64, 64, 64, 0, 0, 0, 0.0);
    case_make(&tc, &o, rng);
    const size_t qn = (size_t)tc.q_count, kn = (size_t)tc.kv_count, ln = (size_t)tc.lse_count;
    uint16_t *q = narrow(SNC_DTYPE_F16, tc.q, (int64_t)qn, 0), *k = narrow(SNC_DTYPE_F16, tc.k, (int64_t)kn, 0);
    uint16_t *v = narrow(SNC_DTYPE_F16, tc.v, (int64_t)kn, 0), *out = narrow(SNC_DTYPE_F16, tc.q, (int64_t)qn, 0);
    uint16_t *dout = narrow(SNC_DTYPE_F16, tc.q, (int64_t)qn, 0), *dq = calloc(qn, 2), *dk = calloc(kn, 2), *dv = calloc(kn, 2);
    float* lse = calloc(ln, sizeof(float));
    dout[7] = 0x7E00u; /* f16 NaN */
    sn_status s = snc_attention_backward_host(&tc.p, &tc.layout, SNC_DTYPE_F16, q, qn, k, kn, v, kn, out, qn, lse, ln,
                                              dout, qn, dq, qn, dk, kn, dv, kn);
    CHECK(s == SN_NON_FINITE && strstr(snc_last_error(), "dout[7]") != NULL, "f16 NaN in dout: %d %s", s,
          snc_last_error());
    /* dq right after dout in one allocation does not overlap it at 2 bytes an element. */
    uint16_t* pair = calloc(2 * qn, 2);
    memcpy(pair, q, 2 * qn);
    s = snc_attention_backward_host(&tc.p, &tc.layout, SNC_DTYPE_F16, q, qn, k, kn, v, kn, out, qn, lse, ln, pair, qn,
                                    pair + qn, qn, dk, kn, dv, kn);
    CHECK(s == SN_OK, "f16 dq adjacent to dout: %d %s", s, snc_last_error());
    s = snc_attention_backward_host(&tc.p, &tc.layout, SNC_DTYPE_F16, q, qn, k, kn, v, kn, out, qn, lse, ln, pair, qn,
                                    pair + qn - 1, qn, dk, kn, dv, kn);
    CHECK(s == SN_INVALID_ARGUMENT && strstr(snc_last_error(), "dq overlaps dout") != NULL, "f16 dq overlaps dout: %d %s",
          s, snc_last_error());
    void* all[] = { q, k, v, out, dout, dq, dk, dv, lse, pair };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i) free(all[i]);
    case_free(&tc);
}

/* One thread's backward through a shared uploaded layout: device copies of the inputs, its own gradients. */
typedef struct shared_call {
    const test_case* tc;
    const snc_layout* layout;
    const float *out, *lse, *dout;
    grads g;
    sn_status status;
} shared_call;

static void* shared_backward(void* arg)
{
    shared_call* c = arg;
    const test_case* tc = c->tc;
    const size_t qb = sizeof(float) * (size_t)tc->q_count, kb = sizeof(float) * (size_t)tc->kv_count;
    void *q = to_device(tc->q, qb), *k = to_device(tc->k, kb), *v = to_device(tc->v, kb), *o = to_device(c->out, qb);
    void *l = to_device(c->lse, sizeof(float) * (size_t)tc->lse_count), *go = to_device(c->dout, qb);
    void *dq = NULL, *dk = NULL, *dv = NULL;
    sn_status s = snc_malloc(qb, &dq);
    if (s == SN_OK) s = snc_malloc(kb, &dk);
    if (s == SN_OK) s = snc_malloc(kb, &dv);
    if (s == SN_OK) s = snc_attention_backward(&tc->p, c->layout, SNC_DTYPE_F32, q, k, v, o, l, go, dq, dk, dv, NULL);
    if (s == SN_OK) s = snc_synchronize(NULL);
    if (s == SN_OK) s = snc_copy_to_host(c->g.dq, dq, qb, NULL);
    if (s == SN_OK) s = snc_copy_to_host(c->g.dk, dk, kb, NULL);
    if (s == SN_OK) s = snc_copy_to_host(c->g.dv, dv, kb, NULL);
    void* all[] = { q, k, v, o, l, go, dq, dk, dv };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i) snc_free(all[i]);
    c->status = s;
    return NULL;
}

/* An uploaded layout builds its transpose at its first backward call: four threads making that first call at once
 * (and a second round on the built transpose) all get the host entry point's bits. */
static void check_shared_layout(uint64_t* rng)
{
    case_options o = fixed(2, 70, 70, 72, 64, 1, 1, 1, 0.3);
    o.segments = 0; /* segment ids would have to be device copies; the other cases cover them */
    test_case tc;
    case_make(&tc, &o, rng);
    const int64_t qn = tc.q_count, kn = tc.kv_count;
    float* out = malloc(sizeof(float) * (size_t)qn);
    float* lse = malloc(sizeof(float) * (size_t)tc.lse_count);
    float* dout = malloc(sizeof(float) * (size_t)qn);
    for (int64_t i = 0; i < qn; ++i) dout[i] = rng_nonzero(rng);
    CHECK(sn_attention_forward(&tc.p, &tc.layout, tc.q, (size_t)qn, tc.k, (size_t)kn, tc.v, (size_t)kn, out,
                               (size_t)qn, lse, (size_t)tc.lse_count) == SN_OK,
          "shared layout: forward: %s", sn_last_error());
    grads host = grads_alloc(&tc);
    CHECK(cuda_backward_host(&tc, out, lse, dout, &host) == SN_OK, "shared layout: host: %s", snc_last_error());
    snc_layout* layout = NULL;
    CHECK(snc_layout_create(&tc.layout, &layout) == SN_OK, "shared layout: %s", snc_last_error());
    enum { THREADS = 4 };
    for (int round = 0; round < 2 && layout != NULL; ++round) {
        shared_call calls[THREADS];
        pthread_t threads[THREADS];
        for (int t = 0; t < THREADS; ++t) {
            calls[t] = (shared_call){ &tc, layout, out, lse, dout, grads_alloc(&tc), SN_OK };
            CHECK(pthread_create(&threads[t], NULL, shared_backward, &calls[t]) == 0, "pthread_create");
        }
        for (int t = 0; t < THREADS; ++t) {
            pthread_join(threads[t], NULL);
            CHECK(calls[t].status == SN_OK, "shared layout, round %d, thread %d: %d %s", round, t, calls[t].status,
                  snc_last_error());
            CHECK(memcmp(calls[t].g.dq, host.dq, sizeof(float) * (size_t)qn) == 0 &&
                      memcmp(calls[t].g.dk, host.dk, sizeof(float) * (size_t)kn) == 0 &&
                      memcmp(calls[t].g.dv, host.dv, sizeof(float) * (size_t)kn) == 0,
                  "shared layout, round %d, thread %d: gradients differ from the host entry point", round, t);
            grads_free(&calls[t].g);
        }
    }
    snc_layout_destroy(layout);
    grads_free(&host);
    free(out);
    free(lse);
    free(dout);
    case_free(&tc);
}

/* A layout alone may declare 2^31 - 1 key blocks in a few bytes; uploading it must not allocate per key block (the
 * transpose waits for a backward call whose problem fits). Under a 2 GiB data limit an 8 GiB allocation fails. */
static void check_huge_declared_layout(void)
{
    const int32_t row_offsets[2] = { 0, 0 };
    sn_layout big = { 16, 1, INT32_MAX, 1, 0, 0, row_offsets, NULL };
    snc_layout* layout = NULL;
#if defined(__SANITIZE_ADDRESS__) || SN_HAS_ASAN
    /* ASan's shadow memory alone exceeds any data limit: the call runs unlimited (the plain builds hold the bound). */
    const sn_status s = snc_layout_create(&big, &layout);
#else
    struct rlimit saved, limited;
    CHECK(getrlimit(RLIMIT_DATA, &saved) == 0, "getrlimit");
    limited = saved;
    limited.rlim_cur = (rlim_t)2 << 30;
    if (saved.rlim_max != RLIM_INFINITY && saved.rlim_max < limited.rlim_cur) limited.rlim_cur = saved.rlim_max;
    CHECK(setrlimit(RLIMIT_DATA, &limited) == 0, "setrlimit");
    const sn_status s = snc_layout_create(&big, &layout);
    setrlimit(RLIMIT_DATA, &saved);
#endif
    CHECK(s == SN_OK && layout != NULL, "layout declaring INT32_MAX key blocks: %d %s", s, snc_last_error());
    /* A backward call with a problem of one key block is refused before anything is built. */
    sn_problem p = { 1, 1, 1, 16, 16, 8, 0, 0, 0.0f, 1, NULL, NULL, 0, 0, 0, 0 };
    static float x[9 * 128] __attribute__((aligned(16))); /* q, k, v, out, lse, dout, dq, dk, dv of 16 x 8 */
    const sn_status b = snc_attention_backward(&p, layout, SNC_DTYPE_F32, x, x + 128, x + 256, x + 384, x + 512,
                                               x + 640, x + 768, x + 896, x + 1024, NULL);
    CHECK(b == SN_INVALID_LAYOUT && strstr(snc_last_error(), "key_blocks") != NULL, "misfit backward: %d %s", b,
          snc_last_error());
    snc_layout_destroy(layout);
}

int main(int argc, char** argv)
{
    const int random_cases = argc > 1 ? atoi(argv[1]) : 12;
    uint64_t rng = argc > 2 ? strtoull(argv[2], NULL, 10) : 0xC0DA5EEDull;
    CHECK(snc_abi_version() == SNC_ABI_VERSION, "abi %d", snc_abi_version());

    /* Corner cases: GQA with causal cross (Lq < Lk and Lq > Lk), odd head dims, tails, segments, empty rows,
     * BSHD, block 16 (tile 16), head_dim > 128 (tile 16), one short block. */
    const case_options corners[] = {
        fixed(3, 45, 77, 24, 32, 1, 0, 0, 0.3),  fixed(2, 77, 45, 40, 32, 1, 1, 1, 0.0),
        fixed(1, 33, 33, 8, 16, 1, 0, 1, 0.3),   fixed(2, 50, 61, 136, 32, 0, 1, 0, 0.3),
        fixed(2, 70, 70, 72, 64, 1, 1, 1, 0.3),  fixed(1, 9, 13, 16, 128, 1, 0, 0, 0.0),
    };
    int count = 0;
    for (size_t i = 0; i < sizeof corners / sizeof corners[0]; ++i, ++count) {
        test_case tc;
        case_make(&tc, &corners[i], &rng);
        check_case(&tc, &rng);
        case_free(&tc);
    }
    for (int i = 0; i < random_cases; ++i, ++count) {
        test_case tc;
        case_options o = random_options(&rng);
        case_make(&tc, &o, &rng);
        check_case(&tc, &rng);
        case_free(&tc);
    }
    check_validation(&rng);
    /* f16 and bf16: head dims 64 and 128, block sizes 64 and 128, GQA with causal cross both ways, segment ids,
     * tails, empty rows, BSHD. */
    const case_options halves[] = {
        fixed(2, 77, 45, 64, 64, 1, 1, 1, 0.3), fixed(3, 45, 130, 128, 64, 1, 0, 0, 0.3),
        fixed(1, 100, 100, 64, 128, 1, 1, 0, 0.0), fixed(2, 70, 70, 128, 128, 0, 0, 1, 0.3),
    };
    double worst_f16 = 0.0, worst_bf16 = 0.0;
    for (size_t i = 0; i < sizeof halves / sizeof halves[0]; ++i, count += 2) {
        const double f = check_half_case(SNC_DTYPE_F16, &halves[i], &rng);
        const double b = check_half_case(SNC_DTYPE_BF16, &halves[i], &rng);
        worst_f16 = f > worst_f16 ? f : worst_f16;
        worst_bf16 = b > worst_bf16 ? b : worst_bf16;
    }
    printf("test_cuda_backward: worst relative error f16 %.3g, bf16 %.3g\n", worst_f16, worst_bf16);
    check_half_validation(&rng);
    check_shared_layout(&rng);
    check_huge_declared_layout();
    if (test_failures != 0) {
        fprintf(stderr, "test_cuda_backward: %d failure(s)\n", test_failures);
        return 1;
    }
    printf("test_cuda_backward: %d cases and the validation cases passed\n", count);
    return 0;
}
