/* The CUDA library's host-side argument checks (the shared sn_validate.h plus snc_validate.c, called in the
 * order snc_api.cu calls them) and the test helper's f16/bf16 conversions.
 * Needs no CUDA toolkit and no device: it is built and run whenever SPARSENATIVE_CUDA is not OFF, so the
 * validation of the GPU entry points is tested on every machine. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "half_convert.h"
#include "sn_error.h"
#include "snc_validate.h"
#include "sparse_native_cuda.h"

static int failures = 0, checks = 0;

static void expect(sn_status got, sn_status want, const char* fragment, const char* what)
{
    ++checks;
    const char* msg = sn_error_message();
    if (got != want || (fragment != NULL && strstr(msg, fragment) == NULL)) {
        printf("FAIL %s: status %d (want %d), message '%s' (want it to contain '%s')\n", what, got, want, msg,
               fragment != NULL ? fragment : "");
        ++failures;
    }
    sn_clear_error();
}

static void expect_true(int cond, const char* what)
{
    ++checks;
    if (!cond) {
        printf("FAIL %s\n", what);
        ++failures;
    }
}

/* A 2-list layout over 3 query blocks x 2 key blocks of 64. */
static int32_t g_offsets[8] = { 0, 1, 1, 3, /* list 1 */ 0, 2, 2, 2 };
static int32_t g_cols[5] = { 0, /* row 2 */ 0, 1, /* list 1 row 0 */ 0, 1 };

static sn_layout good_layout(void)
{
    sn_layout l = { 64, 3, 2, 2, 5, 0, g_offsets, g_cols };
    return l;
}

static void test_layouts(void)
{
    sn_layout_shape shape;
    int64_t* base = NULL;
    sn_layout l = good_layout();
    expect(sn_validate_layout(&l, NULL, &shape, &base), SN_OK, NULL, "good layout");
    expect_true(base != NULL && base[0] == 0 && base[1] == 3, "list starts 0 and 3");
    free(base);

    l = good_layout(); l.block_size = 48;
    expect(sn_validate_layout(&l, NULL, &shape, &base), SN_INVALID_LAYOUT, "block_size = 48", "block size");
    expect_true(base == NULL, "no list starts on failure");
    l = good_layout(); l.reserved = 1;
    expect(sn_validate_layout(&l, NULL, &shape, &base), SN_INVALID_LAYOUT, "reserved = 1", "reserved");
    l = good_layout(); l.num_col_indices = 4;
    expect(sn_validate_layout(&l, NULL, &shape, &base), SN_INVALID_LAYOUT, "num_col_indices", "count mismatch");
    l = good_layout(); l.col_indices = NULL;
    expect(sn_validate_layout(&l, NULL, &shape, &base), SN_INVALID_LAYOUT, "col_indices is NULL", "null columns");
    expect(sn_validate_layout(NULL, NULL, &shape, &base), SN_INVALID_ARGUMENT, "layout is NULL", "null layout");
    l = good_layout(); l.row_offsets = NULL;
    expect(sn_validate_layout(&l, NULL, &shape, &base), SN_INVALID_LAYOUT, "row_offsets is NULL", "null offsets");

    int32_t cols_unsorted[5] = { 0, 1, 0, 0, 1 };
    l = good_layout(); l.col_indices = cols_unsorted;
    expect(sn_validate_layout(&l, NULL, &shape, &base), SN_INVALID_LAYOUT, "col_indices[2] (list 0, row 2) = 0", "unsorted columns");
    int32_t cols_range[5] = { 0, 0, 2, 0, 1 };
    l = good_layout(); l.col_indices = cols_range;
    expect(sn_validate_layout(&l, NULL, &shape, &base), SN_INVALID_LAYOUT, "col_indices[2] (list 0, row 2) = 2", "column out of range");
    int32_t offs_down[8] = { 0, 1, 0, 3, 0, 2, 2, 2 };
    l = good_layout(); l.row_offsets = offs_down;
    expect(sn_validate_layout(&l, NULL, &shape, &base), SN_INVALID_LAYOUT, "row_offsets[2] (list 0, row 2) = 0", "decreasing offsets");
    int32_t offs_start[8] = { 1, 1, 1, 3, 0, 2, 2, 2 };
    l = good_layout(); l.row_offsets = offs_start;
    expect(sn_validate_layout(&l, NULL, &shape, &base), SN_INVALID_LAYOUT, "must start at 0", "offsets not from 0");
}

static sn_problem good_problem(void)
{
    sn_problem p = { 2, 4, 2, 150, 100, 64, SN_FORMAT_BHSD, 0, 0.0f, 0, NULL, NULL, 0, 0, 0, 0 };
    return p;
}

/* The device path's problem checks: shared problem and fit checks, then the CUDA layer's. */
static sn_status check_call(const sn_problem* p, const sn_layout_shape* shape, int32_t dtype, sn_plan* plan)
{
    sn_status s = sn_check_problem(p);
    if (s == SN_OK) s = sn_check_layout_fit(shape, p);
    if (s == SN_OK) s = snc_plan_call(plan, p, shape, dtype);
    return s;
}

static void test_problems(void)
{
    sn_layout_shape shape = { 64, 3, 2, 2, 5 };
    sn_plan params;
    sn_problem p = good_problem();
    expect(check_call(&p, &shape, SNC_DTYPE_F16, &params), SN_OK, NULL, "good problem");
    expect_true(params.group == 2 && params.causal_offset == -50, "group and causal offset");
    expect_true(params.scale_log2 == 0.0f, "scale 0 is used as given (uniform weights), not replaced by 1/sqrt(d)");
    expect_true(params.q_token_stride == 64 && params.q_head_stride == 150 * 64 && params.q_batch_stride == 4 * 150 * 64,
                "BHSD q strides");
    p.format = SN_FORMAT_BSHD;
    expect(check_call(&p, &shape, SNC_DTYPE_F32, &params), SN_OK, NULL, "BSHD");
    expect_true(params.kv_token_stride == 2 * 64 && params.kv_head_stride == 64 && params.kv_batch_stride == 100 * 2 * 64,
                "BSHD kv strides");

    p = good_problem(); p.head_dim = 20;
    expect(check_call(&p, &shape, SNC_DTYPE_F32, &params), SN_UNSUPPORTED, "head_dim = 20", "d % 8");
    p = good_problem(); p.head_dim = 264;
    expect(check_call(&p, &shape, SNC_DTYPE_F32, &params), SN_UNSUPPORTED, "at most 256", "f32 d > 256");
    p = good_problem(); p.head_dim = 96;
    expect(check_call(&p, &shape, SNC_DTYPE_BF16, &params), SN_UNSUPPORTED, "head_dim = 96", "bf16 d 96");
    expect(check_call(&p, &shape, SNC_DTYPE_F32, &params), SN_OK, NULL, "f32 d 96");
    sn_layout_shape small = { 32, 5, 4, 2, 5 };
    p = good_problem();
    expect(check_call(&p, &small, SNC_DTYPE_F16, &params), SN_UNSUPPORTED, "block_size = 32", "f16 block 32");
    expect(check_call(&p, &small, SNC_DTYPE_F32, &params), SN_OK, NULL, "f32 block 32");
    expect(check_call(&p, &shape, 3, &params), SN_INVALID_ARGUMENT, "dtype = 3", "unknown dtype");
    p.query_length = 200;
    expect(check_call(&p, &shape, SNC_DTYPE_F32, &params), SN_INVALID_LAYOUT, "query_blocks = 3", "QB mismatch");
    p = good_problem(); p.key_length = 129;
    expect(check_call(&p, &shape, SNC_DTYPE_F32, &params), SN_INVALID_LAYOUT, "key_blocks = 2", "KB mismatch");
    p = good_problem(); p.query_heads = 3; p.kv_heads = 1;
    expect(check_call(&p, &shape, SNC_DTYPE_F32, &params), SN_INVALID_LAYOUT, "num_layouts = 2", "lists vs heads");
    p = good_problem(); p.kv_heads = 3;
    expect(check_call(&p, &shape, SNC_DTYPE_F32, &params), SN_INVALID_ARGUMENT, "not a multiple", "GQA");
    p = good_problem(); p.scale = NAN;
    expect(check_call(&p, &shape, SNC_DTYPE_F32, &params), SN_INVALID_ARGUMENT, "scale", "NaN scale");
    p = good_problem(); p.flags = 8;
    expect(check_call(&p, &shape, SNC_DTYPE_F32, &params), SN_INVALID_ARGUMENT, "unknown bits 0x8", "flags");
    p = good_problem(); p.batch = 0;
    expect(check_call(&p, &shape, SNC_DTYPE_F32, &params), SN_INVALID_ARGUMENT, "batch = 0", "batch");
    p = good_problem(); p.format = 2;
    expect(check_call(&p, &shape, SNC_DTYPE_F32, &params), SN_INVALID_ARGUMENT, "format = 2", "format");
    int32_t seg[300];
    p = good_problem(); p.query_segment_ids = seg;
    expect(check_call(&p, &shape, SNC_DTYPE_F32, &params), SN_INVALID_ARGUMENT, "key_segment_ids is NULL",
           "one segment array");
    p = good_problem(); p.batch = 1 << 20; p.query_heads = 1 << 16; p.kv_heads = 1 << 16; p.query_length = 1 << 20;
    p.head_dim = 1 << 16;
    expect(sn_check_problem(&p), SN_INVALID_ARGUMENT, "overflows", "size overflow (the CPU library's status)");
    p = good_problem(); p.scale = 0.5f; p.flags = SN_FLAG_CAUSAL;
    expect(check_call(&p, &shape, SNC_DTYPE_F32, &params), SN_OK, NULL, "explicit scale");
    expect_true(params.causal == 1 && fabsf(params.scale_log2 - 0.72134752f) < 1e-6f, "causal flag and scale");
    p = good_problem(); p.scale = -0.3f;
    expect(check_call(&p, &shape, SNC_DTYPE_F32, &params), SN_OK, NULL, "negative scale");
    expect_true(fabsf(params.scale_log2 - -0.3f * 1.44269504f) < 1e-6f, "negative scale used as given");
}

static void test_buffers(void)
{
    sn_layout_shape shape = { 64, 3, 2, 2, 5 };
    sn_plan params;
    sn_problem p = good_problem();
    expect(check_call(&p, &shape, SNC_DTYPE_F16, &params), SN_OK, NULL, "problem for buffers");
    const size_t nq = 2 * 4 * 150 * 64, nkv = 2 * 2 * 100 * 64, nlse = 2 * 4 * 150;
    uint16_t* q = calloc(nq, 2);
    uint16_t* k = calloc(nkv, 2);
    uint16_t* v = calloc(nkv, 2);
    uint16_t* out = calloc(nq, 2);
    float* lse = calloc(nlse, 4);
    expect(snc_check_host_buffers(&params, 0, q, nq, k, nkv, v, nkv, out, nq, lse, nlse, NULL), SN_OK, NULL, "host buffers");
    expect(snc_check_host_buffers(&params, 0, q, nq, k, nkv - 1, v, nkv, out, nq, lse, nlse, NULL), SN_BUFFER_TOO_SMALL,
           "k_len = 25599", "short k");
    expect(snc_check_host_buffers(&params, 0, q, nq, k, nkv, v, nkv, out, nq, NULL, 5, NULL), SN_INVALID_ARGUMENT,
           "lse is NULL but lse_len = 5", "null lse with length");
    expect(snc_check_host_buffers(&params, 0, q, nq, k, nkv, v, nkv, q, nq, lse, nlse, NULL), SN_INVALID_ARGUMENT,
           "out overlaps q", "out aliasing q");
    k[3] = 0x7E00u; /* f16 NaN */
    expect(snc_check_host_buffers(&params, 0, q, nq, k, nkv, v, nkv, out, nq, lse, nlse, NULL), SN_NON_FINITE, "k[3]",
           "NaN in k");
    expect(snc_check_host_buffers(&params, SN_FLAG_ALLOW_NON_FINITE, q, nq, k, nkv, v, nkv, out, nq, lse, nlse, NULL),
           SN_OK, NULL, "NaN allowed");
    k[3] = 0x7BFFu; /* the largest finite f16 */
    expect(snc_check_host_buffers(&params, 0, q, nq, k, nkv, v, nkv, out, nq, lse, nlse, NULL), SN_OK, NULL, "65504 is finite");
    q[7] = 0xFBFFu; /* -65504: the f16 range cannot overflow a float32 score (64 * 65504^2 is far below FLT_MAX) */
    expect(snc_check_host_buffers(&params, 0, q, nq, k, nkv, v, nkv, out, nq, lse, nlse, NULL), SN_OK, NULL,
           "largest f16 q and k");
    /* bfloat16 has float32's range: q and k near 1e19 could overflow a score. */
    sn_plan bf16;
    expect(check_call(&p, &shape, SNC_DTYPE_BF16, &bf16), SN_OK, NULL, "bf16 problem");
    q[7] = 0x5F0Au; k[3] = 0xDF0Au; /* +-9.95e18 */
    expect(snc_check_host_buffers(&bf16, 0, q, nq, k, nkv, v, nkv, out, nq, lse, nlse, NULL), SN_NON_FINITE,
           "q, k: max|q| = 9.94", "bf16 scores could overflow");
    q[7] = k[3] = 0;
    v[5] = 0x7F7Fu; /* the largest finite bf16, summed over 100 keys */
    expect(snc_check_host_buffers(&bf16, 0, q, nq, k, nkv, v, nkv, out, nq, lse, nlse, NULL), SN_NON_FINITE,
           "v: max|v| = 3.38", "bf16 values could overflow when summed");
    v[5] = 0;

    expect(snc_check_device_pointers(&params, q, k, v, out, lse), SN_OK, NULL, "device pointers");
    expect(snc_check_device_pointers(&params, (char*)q + 2, k, v, out, lse), SN_INVALID_ARGUMENT, "16-byte aligned",
           "misaligned q");
    expect(snc_check_device_pointers(&params, q, k, NULL, out, lse), SN_INVALID_ARGUMENT, "v is NULL", "null v");
    expect(snc_check_device_pointers(&params, q, k, v, out, (float*)(void*)out), SN_INVALID_ARGUMENT, "out overlaps lse",
           "lse aliasing out");
    free(q); free(k); free(v); free(out); free(lse);
}

static void test_half_conversion(void)
{
    int bad = 0;
    for (uint32_t h = 0; h < 65536; ++h) {
        if (((h >> 10) & 31u) == 31u) continue; /* infinities and NaNs */
        if (snc_float_to_f16(snc_f16_to_float((uint16_t)h)) != h) ++bad;
    }
    expect_true(bad == 0, "every finite f16 survives f16 -> float -> f16");
    expect_true(snc_float_to_f16(1.0f) == 0x3C00u && snc_float_to_f16(65520.0f) == 0x7C00u &&
                snc_float_to_f16(1.00048828125f) == 0x3C00u /* tie to even */ &&
                snc_float_to_f16(1.00146484375f) == 0x3C02u /* tie to even, upwards */,
                "f16 rounding");
    expect_true(snc_float_to_bf16(1.0f) == 0x3F80u && snc_float_to_bf16(0.1f) == 0x3DCDu &&
                snc_float_to_bf16(1.01171875f) == 0x3F82u && snc_bf16_to_float(0x3DCDu) == 0.10009765625f,
                "bf16 rounding");
}

int main(void)
{
    test_layouts();
    test_problems();
    test_buffers();
    test_half_conversion();
    printf("%d checks, %d failures\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
