/* Every validation error of sn_attention_forward, sn_attention_backward and sn_merge_states: the status
 * code, and that the message names the offending field (and where useful its value). Each case starts from
 * a valid call and breaks exactly one thing. Also what SN_FLAG_ALLOW_NON_FINITE promises for NaN/infinity. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

/* A valid small problem: B=1, Hq=4, Hkv=2, Lq=40, Lk=70, d=16, bs=16 -> QB=3, KB=5, two lists. */
enum { B = 1, HQ = 4, HKV = 2, LQ = 40, LK = 70, D = 16, BS = 16, QB = 3, KB = 5, LISTS = 2 };

typedef struct fixture {
    sn_problem p;
    sn_layout layout;
    int32_t row_offsets[LISTS * (QB + 1)];
    int32_t col_indices[64];
    int32_t segq[B * LQ], segk[B * LK];
    float q[B * HQ * LQ * D], k[B * HKV * LK * D], v[B * HKV * LK * D];
    float out[B * HQ * LQ * D], lse[B * HQ * LQ];
    size_t q_len, k_len, v_len, out_len, lse_len;
    float* q_ptr;
    float* k_ptr;
    float* v_ptr;
    float* out_ptr;
    float* lse_ptr;
} fixture;

static void fixture_init(fixture* f)
{
    memset(f, 0, sizeof *f);
    f->p.batch = B;
    f->p.query_heads = HQ;
    f->p.kv_heads = HKV;
    f->p.query_length = LQ;
    f->p.key_length = LK;
    f->p.head_dim = D;
    f->p.num_threads = 1;
    /* list 0: rows {0,1}, {2}, {0,4}; list 1: rows {}, {1,3}, {4} */
    static const int32_t ro[LISTS * (QB + 1)] = { 0, 2, 3, 5, 0, 0, 2, 3 };
    static const int32_t ci[8] = { 0, 1, 2, 0, 4, 1, 3, 4 };
    memcpy(f->row_offsets, ro, sizeof ro);
    memcpy(f->col_indices, ci, sizeof ci);
    f->layout.block_size = BS;
    f->layout.query_blocks = QB;
    f->layout.key_blocks = KB;
    f->layout.num_layouts = LISTS;
    f->layout.num_col_indices = 8;
    f->layout.row_offsets = f->row_offsets;
    f->layout.col_indices = f->col_indices;
    uint64_t rng = 5;
    for (size_t i = 0; i < sizeof f->q / sizeof f->q[0]; ++i) f->q[i] = rng_nonzero(&rng);
    for (size_t i = 0; i < sizeof f->k / sizeof f->k[0]; ++i) f->k[i] = rng_nonzero(&rng);
    for (size_t i = 0; i < sizeof f->v / sizeof f->v[0]; ++i) f->v[i] = rng_nonzero(&rng);
    f->q_len = sizeof f->q / sizeof f->q[0];
    f->k_len = f->v_len = sizeof f->k / sizeof f->k[0];
    f->out_len = sizeof f->out / sizeof f->out[0];
    f->lse_len = sizeof f->lse / sizeof f->lse[0];
    f->q_ptr = f->q;
    f->k_ptr = f->k;
    f->v_ptr = f->v;
    f->out_ptr = f->out;
    f->lse_ptr = f->lse;
}

static sn_status call(fixture* f, const sn_problem* p, const sn_layout* l)
{
    return sn_attention_forward(p, l, f->q_ptr, f->q_len, f->k_ptr, f->k_len, f->v_ptr, f->v_len, f->out_ptr,
                                f->out_len, f->lse_ptr, f->lse_len);
}

static int cases_run;

/* Runs the call and checks the status and that every expected fragment is in the message. */
static void expect(const char* what, sn_status got, sn_status want, const char* frag1, const char* frag2)
{
    ++cases_run;
    const char* msg = sn_last_error();
    if (getenv("SN_TEST_VERBOSE") != NULL) printf("%-32s %-20s %s\n", what, sn_status_name(got), msg);
    CHECK(got == want, "[%s] status %s, expected %s (message: %s)", what, sn_status_name(got), sn_status_name(want), msg);
    if (want != SN_OK) {
        CHECK(frag1 == NULL || strstr(msg, frag1) != NULL, "[%s] message '%s' lacks '%s'", what, msg, frag1);
        CHECK(frag2 == NULL || strstr(msg, frag2) != NULL, "[%s] message '%s' lacks '%s'", what, msg, frag2);
    } else {
        CHECK(msg[0] == '\0', "[%s] message not cleared after success: '%s'", what, msg);
    }
}

#define FORWARD_CASE(what, mutate, want, frag1, frag2) \
    do {                                              \
        fixture* f = &fx;                             \
        fixture_init(f);                              \
        mutate;                                       \
        expect(what, call(f, &f->p, &f->layout), want, frag1, frag2); \
    } while (0)

static fixture fx;

static void forward_cases(void)
{
    FORWARD_CASE("valid", (void)0, SN_OK, NULL, NULL);
    FORWARD_CASE("valid without lse", (f->lse_ptr = NULL, f->lse_len = 0), SN_OK, NULL, NULL);
    FORWARD_CASE("valid with segments", (f->p.query_segment_ids = f->segq, f->p.key_segment_ids = f->segk), SN_OK, NULL, NULL);
    FORWARD_CASE("valid, non-finite allowed", (f->q[3] = NAN, f->p.flags = SN_FLAG_ALLOW_NON_FINITE), SN_OK, NULL, NULL);

    /* Null descriptions. */
    {
        fixture_init(&fx);
        expect("problem NULL", call(&fx, NULL, &fx.layout), SN_INVALID_ARGUMENT, "problem is NULL", NULL);
        expect("layout NULL", call(&fx, &fx.p, NULL), SN_INVALID_ARGUMENT, "layout is NULL", NULL);
    }

    /* Sizes <= 0. */
    FORWARD_CASE("batch 0", f->p.batch = 0, SN_INVALID_ARGUMENT, "problem->batch", "= 0");
    FORWARD_CASE("query_heads -1", f->p.query_heads = -1, SN_INVALID_ARGUMENT, "problem->query_heads", "= -1");
    FORWARD_CASE("kv_heads 0", f->p.kv_heads = 0, SN_INVALID_ARGUMENT, "problem->kv_heads", "= 0");
    FORWARD_CASE("query_length 0", f->p.query_length = 0, SN_INVALID_ARGUMENT, "problem->query_length", "= 0");
    FORWARD_CASE("key_length -5", f->p.key_length = -5, SN_INVALID_ARGUMENT, "problem->key_length", "= -5");
    FORWARD_CASE("head_dim 0", f->p.head_dim = 0, SN_INVALID_ARGUMENT, "problem->head_dim", "= 0");

    /* Scalar fields. */
    FORWARD_CASE("heads not dividing", f->p.kv_heads = 3, SN_INVALID_ARGUMENT, "problem->query_heads = 4", "problem->kv_heads = 3");
    FORWARD_CASE("head_dim not multiple of 8", f->p.head_dim = 12, SN_UNSUPPORTED, "problem->head_dim = 12", "multiple of 8");
    FORWARD_CASE("format 2", f->p.format = 2, SN_INVALID_ARGUMENT, "problem->format = 2", NULL);
    FORWARD_CASE("unknown flag", f->p.flags = 0x10, SN_INVALID_ARGUMENT, "problem->flags", "0x10");
    FORWARD_CASE("scale 0 is a value", f->p.scale = 0.0f, SN_OK, NULL, NULL);
    FORWARD_CASE("negative scale is a value", f->p.scale = -0.3f, SN_OK, NULL, NULL);
    FORWARD_CASE("scale NaN", f->p.scale = NAN, SN_INVALID_ARGUMENT, "problem->scale", "nan");
    FORWARD_CASE("scale inf", f->p.scale = -INFINITY, SN_INVALID_ARGUMENT, "problem->scale", "-inf");
    FORWARD_CASE("threads -1", f->p.num_threads = -1, SN_INVALID_ARGUMENT, "problem->num_threads = -1", NULL);
    FORWARD_CASE("only query segments", f->p.query_segment_ids = f->segq, SN_INVALID_ARGUMENT, "problem->key_segment_ids is NULL", NULL);
    FORWARD_CASE("only key segments", f->p.key_segment_ids = f->segk, SN_INVALID_ARGUMENT, "problem->query_segment_ids is NULL", NULL);

    /* Sizes whose byte counts overflow 64 bits. */
    FORWARD_CASE("q size overflow",
                 (f->p.batch = INT32_MAX, f->p.query_heads = INT32_MAX, f->p.kv_heads = 1, f->p.query_length = INT32_MAX,
                  f->p.head_dim = 8),
                 SN_INVALID_ARGUMENT, "q/out size", "overflows");
    FORWARD_CASE("k size overflow",
                 (f->p.batch = 1 << 20, f->p.query_heads = 2, f->p.kv_heads = 2, f->p.query_length = 1,
                  f->p.key_length = INT32_MAX, f->p.head_dim = 1 << 16),
                 SN_INVALID_ARGUMENT, "k/v size", "overflows");

    /* Counts past 2^32 and 2^64: refused or checked in 64 bits, never truncated into a small count that a short
     * buffer would satisfy. batch 8388609 makes q's count 5 * 2^32 + 2560, the fixture's q_len in 32 bits; all
     * 65536 makes it 2^64, which is 0 in 64 bits. */
    FORWARD_CASE("q count past 2^32", f->p.batch = 8388609, SN_BUFFER_TOO_SMALL, "q_len = 2560", "needs 21474839040 elements");
    FORWARD_CASE("q count 2^64",
                 (f->p.batch = f->p.query_heads = f->p.kv_heads = f->p.query_length = f->p.key_length = f->p.head_dim = 65536),
                 SN_INVALID_ARGUMENT, "q/out size batch 65536 * query_heads 65536", "overflows");

    /* Buffers. */
    FORWARD_CASE("q NULL", f->q_ptr = NULL, SN_INVALID_ARGUMENT, "q is NULL", NULL);
    FORWARD_CASE("k NULL", f->k_ptr = NULL, SN_INVALID_ARGUMENT, "k is NULL", NULL);
    FORWARD_CASE("v NULL", f->v_ptr = NULL, SN_INVALID_ARGUMENT, "v is NULL", NULL);
    FORWARD_CASE("out NULL", f->out_ptr = NULL, SN_INVALID_ARGUMENT, "out is NULL", NULL);
    FORWARD_CASE("lse NULL but length", f->lse_ptr = NULL, SN_INVALID_ARGUMENT, "lse is NULL but lse_len = 160", NULL);
    FORWARD_CASE("q short", f->q_len -= 1, SN_BUFFER_TOO_SMALL, "q_len = 2559", "2560");
    FORWARD_CASE("k short", f->k_len = 0, SN_BUFFER_TOO_SMALL, "k_len = 0", "2240");
    FORWARD_CASE("v short", f->v_len = 100, SN_BUFFER_TOO_SMALL, "v_len = 100", "2240");
    FORWARD_CASE("out short", f->out_len = 2000, SN_BUFFER_TOO_SMALL, "out_len = 2000", "2560");
    FORWARD_CASE("lse short", f->lse_len = 159, SN_BUFFER_TOO_SMALL, "lse_len = 159", "160");
    /* Only the ranges are compared (nothing is written on failure): out may run on into the fixture's k. */
    FORWARD_CASE("out overlaps q", f->out_ptr = f->q + 8, SN_INVALID_ARGUMENT, "out overlaps q", NULL);
    FORWARD_CASE("lse overlaps k", f->lse_ptr = f->k + 5, SN_INVALID_ARGUMENT, "lse overlaps k", NULL);
    /* Outputs over the other inputs a work item reads (a later item would read indices an earlier one overwrote):
     * the arrays are copied into out or lse, so their content stays valid and only the overlap is wrong. */
    FORWARD_CASE("out overlaps row_offsets",
                 (memcpy(f->out + 64, f->row_offsets, sizeof f->row_offsets), f->layout.row_offsets = (const int32_t*)(f->out + 64)),
                 SN_INVALID_ARGUMENT, "out overlaps layout->row_offsets", NULL);
    FORWARD_CASE("out overlaps col_indices",
                 (memcpy(f->out + 2000, f->col_indices, 8 * sizeof(int32_t)), f->layout.col_indices = (const int32_t*)(f->out + 2000)),
                 SN_INVALID_ARGUMENT, "out overlaps layout->col_indices", NULL);
    FORWARD_CASE("lse overlaps col_indices",
                 (memcpy(f->lse + 3, f->col_indices, 8 * sizeof(int32_t)), f->layout.col_indices = (const int32_t*)(f->lse + 3)),
                 SN_INVALID_ARGUMENT, "lse overlaps layout->col_indices", NULL);
    FORWARD_CASE("lse overlaps row_offsets",
                 (memcpy(f->lse + 100, f->row_offsets, sizeof f->row_offsets), f->layout.row_offsets = (const int32_t*)(f->lse + 100)),
                 SN_INVALID_ARGUMENT, "lse overlaps layout->row_offsets", NULL);
    FORWARD_CASE("out overlaps query segments",
                 (memset(f->out, 0, sizeof f->out), f->p.query_segment_ids = (const int32_t*)(f->out + 1000),
                  f->p.key_segment_ids = f->segk),
                 SN_INVALID_ARGUMENT, "out overlaps problem->query_segment_ids", NULL);
    FORWARD_CASE("lse overlaps key segments",
                 (memset(f->lse, 0, sizeof f->lse), f->p.query_segment_ids = f->segq, f->p.key_segment_ids = (const int32_t*)f->lse),
                 SN_INVALID_ARGUMENT, "lse overlaps problem->key_segment_ids", NULL);
    FORWARD_CASE("out overlaps lse", f->lse_ptr = f->out + 7, SN_INVALID_ARGUMENT, "out overlaps lse", NULL);

    /* Layout. */
    FORWARD_CASE("block size 48", f->layout.block_size = 48, SN_INVALID_LAYOUT, "layout->block_size = 48", "16, 32, 64 or 128");
    FORWARD_CASE("block size 256", f->layout.block_size = 256, SN_INVALID_LAYOUT, "layout->block_size = 256", NULL);
    FORWARD_CASE("query_blocks", f->layout.query_blocks = 2, SN_INVALID_LAYOUT, "layout->query_blocks = 2", "= 3");
    FORWARD_CASE("key_blocks", f->layout.key_blocks = 4, SN_INVALID_LAYOUT, "layout->key_blocks = 4", "= 5");
    FORWARD_CASE("num_layouts 0", f->layout.num_layouts = 0, SN_INVALID_LAYOUT, "layout->num_layouts = 0", NULL);
    FORWARD_CASE("num_layouts 3", f->layout.num_layouts = 3, SN_INVALID_LAYOUT, "layout->num_layouts = 3", "query_heads = 4");
    FORWARD_CASE("reserved", f->layout.reserved = 7, SN_INVALID_LAYOUT, "layout->reserved = 7", NULL);
    FORWARD_CASE("num_col_indices negative", f->layout.num_col_indices = -1, SN_INVALID_LAYOUT, "layout->num_col_indices = -1", NULL);
    FORWARD_CASE("row_offsets NULL", f->layout.row_offsets = NULL, SN_INVALID_LAYOUT, "layout->row_offsets is NULL", NULL);
    FORWARD_CASE("col_indices NULL", f->layout.col_indices = NULL, SN_INVALID_LAYOUT, "layout->col_indices is NULL", "= 8");
    FORWARD_CASE("offsets not starting at 0", f->row_offsets[4] = 1, SN_INVALID_LAYOUT, "layout->row_offsets[4] (list 1, row 0) = 1",
                 "start at 0");
    FORWARD_CASE("offsets decreasing", f->row_offsets[2] = 1, SN_INVALID_LAYOUT, "layout->row_offsets[2] (list 0, row 2) = 1",
                 "must not decrease");
    FORWARD_CASE("offsets past the end", f->row_offsets[7] = 9, SN_INVALID_LAYOUT, "layout->row_offsets[7] (list 1, row 3) = 9",
                 "past the end");
    FORWARD_CASE("num_col_indices too large", f->layout.num_col_indices = 9, SN_INVALID_LAYOUT, "layout->num_col_indices = 9",
                 "hold 8");
    FORWARD_CASE("column out of range", f->col_indices[4] = 5, SN_INVALID_LAYOUT, "layout->col_indices[4] (list 0, row 2) = 5",
                 "out of range");
    FORWARD_CASE("column negative", f->col_indices[7] = -1, SN_INVALID_LAYOUT, "layout->col_indices[7] (list 1, row 2) = -1",
                 "out of range");
    FORWARD_CASE("columns unsorted", (f->col_indices[5] = 3, f->col_indices[6] = 1), SN_INVALID_LAYOUT,
                 "layout->col_indices[6] (list 1, row 1) = 1", "unsorted");
    FORWARD_CASE("columns duplicated", f->col_indices[1] = 0, SN_INVALID_LAYOUT, "layout->col_indices[1] (list 0, row 0) = 0",
                 "duplicated");

    /* Astronomically large declared counts: refused by their fit to the problem (or by the lists' own offsets)
     * before the validation reads past the 8 offsets and 8 columns the fixture's arrays hold. */
    FORWARD_CASE("query_blocks INT32_MAX", f->layout.query_blocks = INT32_MAX, SN_INVALID_LAYOUT,
                 "layout->query_blocks = 2147483647", "= 3");
    FORWARD_CASE("key_blocks INT32_MAX", f->layout.key_blocks = INT32_MAX, SN_INVALID_LAYOUT,
                 "layout->key_blocks = 2147483647", "= 5");
    FORWARD_CASE("num_layouts INT32_MAX", f->layout.num_layouts = INT32_MAX, SN_INVALID_LAYOUT,
                 "layout->num_layouts = 2147483647", "query_heads = 4");
    FORWARD_CASE("num_col_indices INT32_MAX", f->layout.num_col_indices = INT32_MAX, SN_INVALID_LAYOUT,
                 "layout->num_col_indices = 2147483647", "hold 8");

    /* Data. */
    FORWARD_CASE("NaN in q", f->q[17] = NAN, SN_NON_FINITE, "q[17] (batch 0, head 0, token 1, channel 1)", "nan");
    FORWARD_CASE("inf in k", f->k[LK * D + 2] = INFINITY, SN_NON_FINITE, "k[1122] (batch 0, head 1, token 0, channel 2)", "inf");
    FORWARD_CASE("-inf in v, BSHD", (f->v[HKV * D + 3] = -INFINITY, f->p.format = SN_FORMAT_BSHD), SN_NON_FINITE,
                 "v[35] (batch 0, head 0, token 1, channel 3)", "-inf");
    /* Finite inputs whose scores, or whose weighted sum of values, could overflow float32. */
    FORWARD_CASE("scores could overflow", (f->q[5] = 1e19f, f->k[9] = -1e19f), SN_NON_FINITE,
                 "q, k: max|q| = 1e+19, max|k| = 1e+19", "overflow float32");
    FORWARD_CASE("large scale, scores could overflow", (f->q[5] = 1e4f, f->k[9] = 1e4f, f->p.scale = 1e32f),
                 SN_NON_FINITE, "q, k: max|q| = 10000", "scale = 1e+32");
    FORWARD_CASE("values could overflow when summed", f->v[3] = 3e38f, SN_NON_FINITE, "v: max|v| = 3e+38",
                 "key_length");
    FORWARD_CASE("huge but safe scores", f->p.scale = 1e30f, SN_OK, NULL, NULL);
    FORWARD_CASE("range not checked when non-finite allowed", (f->q[5] = 1e19f, f->k[9] = 1e19f,
                 f->p.flags = SN_FLAG_ALLOW_NON_FINITE), SN_OK, NULL, NULL);
}

/* ---- non-finite input with SN_FLAG_ALLOW_NON_FINITE ---- */

/* The documented behaviour (sparse_native.h, SN_FLAG_ALLOW_NON_FINITE): the call succeeds and writes every element
 * of out and lse; the rows that read the value are unspecified (NaN); every other row is what it is without the
 * value. A value in kv head 0 is read by query heads 0 and 1 only (group 2); so is one in query head 1, whatever
 * rows a kernel computes together. Heads 2 and 3 must be bitwise the clean call's. */
static void non_finite_allowed_cases(void)
{
    static const float values[] = { NAN, INFINITY, -INFINITY };
    static float clean_out[B * HQ * LQ * D], clean_lse[B * HQ * LQ];
    const int32_t head = LQ * D; /* one head of q/out (BHSD), and of k/v */
    for (int threads = 1; threads <= 3; threads += 2) {
        fixture_init(&fx);
        fx.p.num_threads = threads;
        CHECK(call(&fx, &fx.p, &fx.layout) == SN_OK, "clean call failed: %s", sn_last_error());
        memcpy(clean_out, fx.out, sizeof clean_out);
        memcpy(clean_lse, fx.lse, sizeof clean_lse);
        for (int tensor = 0; tensor < 3; ++tensor)
            for (size_t n = 0; n < sizeof values / sizeof values[0]; ++n) {
                ++cases_run;
                fixture_init(&fx);
                fx.p.num_threads = threads;
                fx.p.flags = SN_FLAG_ALLOW_NON_FINITE;
                float* x = tensor == 0 ? fx.q + head + 5 * D + 3 : tensor == 1 ? fx.k + 33 * D + 1 : fx.v + 60 * D + 7;
                *x = values[n];
                for (size_t i = 0; i < sizeof fx.out / sizeof fx.out[0]; ++i) fx.out[i] = 12345.0f;
                for (size_t i = 0; i < sizeof fx.lse / sizeof fx.lse[0]; ++i) fx.lse[i] = 12345.0f;
                const char* name = tensor == 0 ? "q" : tensor == 1 ? "k" : "v";
                sn_status st = call(&fx, &fx.p, &fx.layout);
                CHECK(st == SN_OK, "[%g in %s, %d threads] status %s: %s", (double)values[n], name, threads,
                      sn_status_name(st), sn_last_error());
                size_t unwritten = 0;
                for (size_t i = 0; i < sizeof fx.out / sizeof fx.out[0]; ++i) unwritten += fx.out[i] == 12345.0f;
                for (size_t i = 0; i < sizeof fx.lse / sizeof fx.lse[0]; ++i) unwritten += fx.lse[i] == 12345.0f;
                CHECK(unwritten == 0, "[%g in %s, %d threads] %zu output elements not written", (double)values[n], name,
                      threads, unwritten);
                CHECK(memcmp(fx.out + 2 * head, clean_out + 2 * head, 2 * head * sizeof(float)) == 0,
                      "[%g in %s, %d threads] out of heads 2, 3 (which do not read it) changed", (double)values[n], name,
                      threads);
                CHECK(memcmp(fx.lse + 2 * LQ, clean_lse + 2 * LQ, 2 * LQ * sizeof(float)) == 0,
                      "[%g in %s, %d threads] lse of heads 2, 3 changed", (double)values[n], name, threads);
            }
    }
}

/* ---- merge ---- */

enum { MB = 2, MH = 3, ML = 5, MD = 4, MN = MB * MH * ML * MD, MR = MB * MH * ML };

static float oa[MN], ob[MN], mo[MN], la[MR], lb[MR], ml[MR];

static sn_status merge(int32_t b, int32_t h, int32_t l, int32_t d, int32_t format, int32_t flags, const float* out_a,
                       const float* lse_a, const float* out_b, const float* lse_b, float* out, float* lse, size_t on,
                       size_t ln)
{
    return sn_merge_states(b, h, l, d, format, flags, out_a, lse_a, out_b, lse_b, out, lse, on, ln);
}

static void merge_init(void)
{
    for (int i = 0; i < MN; ++i) oa[i] = ob[i] = 0.5f;
    for (int i = 0; i < MR; ++i) la[i] = lb[i] = 1.0f;
}

#define MERGE_CASE(what, mutate, call_args, want, frag1, frag2) \
    do {                                                        \
        merge_init();                                           \
        mutate;                                                 \
        expect(what, merge call_args, want, frag1, frag2);      \
    } while (0)

#define OK_ARGS (MB, MH, ML, MD, 0, 0, oa, la, ob, lb, mo, ml, MN, MR)

static void merge_cases(void)
{
    MERGE_CASE("merge valid", (void)0, OK_ARGS, SN_OK, NULL, NULL);
    MERGE_CASE("merge -inf lse allowed", (la[0] = -INFINITY, lb[0] = -INFINITY), OK_ARGS, SN_OK, NULL, NULL);
    MERGE_CASE("merge in place a", (void)0, (MB, MH, ML, MD, 1, 0, oa, la, ob, lb, oa, la, MN, MR), SN_OK, NULL, NULL);
    MERGE_CASE("merge in place b", (void)0, (MB, MH, ML, MD, 0, 0, oa, la, ob, lb, ob, lb, MN, MR), SN_OK, NULL, NULL);
    MERGE_CASE("merge odd head_dim", (void)0, (MB, MH, ML, 3, 0, 0, oa, la, ob, lb, mo, ml, MN, MR), SN_OK, NULL, NULL);
    MERGE_CASE("merge batch 0", (void)0, (0, MH, ML, MD, 0, 0, oa, la, ob, lb, mo, ml, MN, MR), SN_INVALID_ARGUMENT, "batch = 0", NULL);
    MERGE_CASE("merge heads -2", (void)0, (MB, -2, ML, MD, 0, 0, oa, la, ob, lb, mo, ml, MN, MR), SN_INVALID_ARGUMENT, "heads = -2", NULL);
    MERGE_CASE("merge length 0", (void)0, (MB, MH, 0, MD, 0, 0, oa, la, ob, lb, mo, ml, MN, MR), SN_INVALID_ARGUMENT, "length = 0", NULL);
    MERGE_CASE("merge head_dim 0", (void)0, (MB, MH, ML, 0, 0, 0, oa, la, ob, lb, mo, ml, MN, MR), SN_INVALID_ARGUMENT, "head_dim = 0", NULL);
    MERGE_CASE("merge format", (void)0, (MB, MH, ML, MD, 5, 0, oa, la, ob, lb, mo, ml, MN, MR), SN_INVALID_ARGUMENT, "format = 5", NULL);
    MERGE_CASE("merge causal flag", (void)0, (MB, MH, ML, MD, 0, SN_FLAG_CAUSAL, oa, la, ob, lb, mo, ml, MN, MR), SN_INVALID_ARGUMENT,
               "flags = 0x1", NULL);
    MERGE_CASE("merge overflow", (void)0, (INT32_MAX, INT32_MAX, INT32_MAX, 4, 0, 0, oa, la, ob, lb, mo, ml, MN, MR),
               SN_INVALID_ARGUMENT, "overflows", NULL);
    /* 536870915 * 2 * 5 * 4 = 5 * 2^32 + 120 (MN in 32 bits); 65536^4 = 2^64 (0 in 64 bits). */
    MERGE_CASE("merge count past 2^32", (void)0, (536870915, 2, 5, 4, 0, 0, oa, la, ob, lb, mo, ml, MN, MR),
               SN_BUFFER_TOO_SMALL, "out_len = 120", "need 21474836600 elements");
    MERGE_CASE("merge count 2^64", (void)0, (65536, 65536, 65536, 65536, 0, 0, oa, la, ob, lb, mo, ml, MN, MR),
               SN_INVALID_ARGUMENT, "overflows", NULL);
    MERGE_CASE("merge out_a NULL", (void)0, (MB, MH, ML, MD, 0, 0, NULL, la, ob, lb, mo, ml, MN, MR), SN_INVALID_ARGUMENT, "out_a is NULL", NULL);
    MERGE_CASE("merge lse_a NULL", (void)0, (MB, MH, ML, MD, 0, 0, oa, NULL, ob, lb, mo, ml, MN, MR), SN_INVALID_ARGUMENT, "lse_a is NULL", NULL);
    MERGE_CASE("merge out_b NULL", (void)0, (MB, MH, ML, MD, 0, 0, oa, la, NULL, lb, mo, ml, MN, MR), SN_INVALID_ARGUMENT, "out_b is NULL", NULL);
    MERGE_CASE("merge lse_b NULL", (void)0, (MB, MH, ML, MD, 0, 0, oa, la, ob, NULL, mo, ml, MN, MR), SN_INVALID_ARGUMENT, "lse_b is NULL", NULL);
    MERGE_CASE("merge out NULL", (void)0, (MB, MH, ML, MD, 0, 0, oa, la, ob, lb, NULL, ml, MN, MR), SN_INVALID_ARGUMENT, "out is NULL", NULL);
    MERGE_CASE("merge lse NULL", (void)0, (MB, MH, ML, MD, 0, 0, oa, la, ob, lb, mo, NULL, MN, MR), SN_INVALID_ARGUMENT, "lse is NULL", NULL);
    MERGE_CASE("merge out short", (void)0, (MB, MH, ML, MD, 0, 0, oa, la, ob, lb, mo, ml, MN - 1, MR), SN_BUFFER_TOO_SMALL,
               "out_len = 119", "120");
    MERGE_CASE("merge lse short", (void)0, (MB, MH, ML, MD, 0, 0, oa, la, ob, lb, mo, ml, MN, 3), SN_BUFFER_TOO_SMALL, "lse_len = 3", "30");
    MERGE_CASE("merge out overlaps out_a", (void)0, (MB, MH, ML, 2, 0, 0, oa, la, ob, lb, oa + 1, ml, 60, MR), SN_INVALID_ARGUMENT,
               "out overlaps out_a", "same pointer");
    MERGE_CASE("merge out overlaps lse", (void)0, (MB, MH, ML, 1, 0, 0, oa, la, ob, lb, mo, mo + 3, MR, MR), SN_INVALID_ARGUMENT,
               "out overlaps lse", NULL);
    MERGE_CASE("merge lse overlaps out_b", (void)0, (MB, MH, ML, 1, 0, 0, oa, la, ob, lb, mo, ob + 2, MR, MR), SN_INVALID_ARGUMENT,
               "lse overlaps out_b", NULL);
    MERGE_CASE("merge NaN in out_b", ob[7] = NAN, OK_ARGS, SN_NON_FINITE, "out_b[7]", "nan");
    MERGE_CASE("merge +inf lse_a", la[4] = INFINITY, OK_ARGS, SN_NON_FINITE, "lse_a[4]", "inf");
    MERGE_CASE("merge NaN lse_b", lb[2] = NAN, OK_ARGS, SN_NON_FINITE, "lse_b[2]", "nan");
    MERGE_CASE("merge NaN allowed", lb[2] = NAN, (MB, MH, ML, MD, 0, SN_FLAG_ALLOW_NON_FINITE, oa, la, ob, lb, mo, ml, MN, MR), SN_OK,
               NULL, NULL);
}

/* ---- backward ---- */

/* The forward fixture plus what the backward adds: the forward's out and lse, dout, and the gradients. */
typedef struct backward_fixture {
    float dout[B * HQ * LQ * D], dq[B * HQ * LQ * D], dk[B * HKV * LK * D], dv[B * HKV * LK * D];
    const float *out_ptr, *lse_ptr, *dout_ptr;
    float *dq_ptr, *dk_ptr, *dv_ptr;
    size_t out_len, lse_len, dout_len, dq_len, dk_len, dv_len;
} backward_fixture;

static backward_fixture bx;

static void backward_init(fixture* f, backward_fixture* g)
{
    fixture_init(f);
    CHECK(call(f, &f->p, &f->layout) == SN_OK, "the backward fixture's forward failed: %s", sn_last_error());
    uint64_t rng = 9;
    for (size_t i = 0; i < sizeof g->dout / sizeof g->dout[0]; ++i) g->dout[i] = rng_nonzero(&rng);
    g->out_ptr = f->out;
    g->lse_ptr = f->lse;
    g->dout_ptr = g->dout;
    g->dq_ptr = g->dq;
    g->dk_ptr = g->dk;
    g->dv_ptr = g->dv;
    g->out_len = g->dout_len = g->dq_len = sizeof g->dq / sizeof g->dq[0];
    g->lse_len = f->lse_len;
    g->dk_len = g->dv_len = sizeof g->dk / sizeof g->dk[0];
}

static sn_status backward_call(fixture* f, backward_fixture* g, const sn_problem* p, const sn_layout* l)
{
    return sn_attention_backward(p, l, f->q_ptr, f->q_len, f->k_ptr, f->k_len, f->v_ptr, f->v_len, g->out_ptr,
                                 g->out_len, g->lse_ptr, g->lse_len, g->dout_ptr, g->dout_len, g->dq_ptr, g->dq_len,
                                 g->dk_ptr, g->dk_len, g->dv_ptr, g->dv_len);
}

#define BACKWARD_CASE(what, mutate, want, frag1, frag2) \
    do {                                               \
        fixture* f = &fx;                              \
        backward_fixture* g = &bx;                     \
        backward_init(f, g);                           \
        mutate;                                        \
        expect(what, backward_call(f, g, &f->p, &f->layout), want, frag1, frag2); \
    } while (0)

static void backward_cases(void)
{
    BACKWARD_CASE("backward valid", (void)0, SN_OK, NULL, NULL);
    BACKWARD_CASE("backward valid with segments", (f->p.query_segment_ids = f->segq, f->p.key_segment_ids = f->segk),
                  SN_OK, NULL, NULL);
    BACKWARD_CASE("backward scale 0", f->p.scale = 0.0f, SN_OK, NULL, NULL);
    BACKWARD_CASE("backward negative scale", f->p.scale = -0.5f, SN_OK, NULL, NULL);
    BACKWARD_CASE("backward NaN allowed", (g->dout[3] = NAN, f->p.flags = SN_FLAG_ALLOW_NON_FINITE), SN_OK, NULL, NULL);

    /* The forward's checks come first, with the forward's messages. */
    {
        backward_init(&fx, &bx);
        expect("backward problem NULL", backward_call(&fx, &bx, NULL, &fx.layout), SN_INVALID_ARGUMENT, "problem is NULL", NULL);
        expect("backward layout NULL", backward_call(&fx, &bx, &fx.p, NULL), SN_INVALID_ARGUMENT, "layout is NULL", NULL);
    }
    BACKWARD_CASE("backward heads not dividing", f->p.kv_heads = 3, SN_INVALID_ARGUMENT, "problem->kv_heads = 3", NULL);
    BACKWARD_CASE("backward head_dim 12", f->p.head_dim = 12, SN_UNSUPPORTED, "problem->head_dim = 12", NULL);
    BACKWARD_CASE("backward key_blocks", f->layout.key_blocks = 4, SN_INVALID_LAYOUT, "layout->key_blocks = 4", NULL);
    BACKWARD_CASE("backward column out of range", f->col_indices[4] = 5, SN_INVALID_LAYOUT, "layout->col_indices[4]", NULL);

    /* Buffers: NULL and lengths, in argument order. */
    BACKWARD_CASE("backward q NULL", f->q_ptr = NULL, SN_INVALID_ARGUMENT, "q is NULL", NULL);
    BACKWARD_CASE("backward out NULL", g->out_ptr = NULL, SN_INVALID_ARGUMENT, "out is NULL", NULL);
    BACKWARD_CASE("backward lse NULL (required)", (g->lse_ptr = NULL, g->lse_len = 0), SN_INVALID_ARGUMENT, "lse is NULL", NULL);
    BACKWARD_CASE("backward dout NULL", g->dout_ptr = NULL, SN_INVALID_ARGUMENT, "dout is NULL", NULL);
    BACKWARD_CASE("backward dq NULL", g->dq_ptr = NULL, SN_INVALID_ARGUMENT, "dq is NULL", NULL);
    BACKWARD_CASE("backward dk NULL", g->dk_ptr = NULL, SN_INVALID_ARGUMENT, "dk is NULL", NULL);
    BACKWARD_CASE("backward dv NULL", g->dv_ptr = NULL, SN_INVALID_ARGUMENT, "dv is NULL", NULL);
    BACKWARD_CASE("backward v short", f->v_len = 100, SN_BUFFER_TOO_SMALL, "v_len = 100", "2240");
    BACKWARD_CASE("backward out short", g->out_len = 2559, SN_BUFFER_TOO_SMALL, "out_len = 2559", "2560");
    BACKWARD_CASE("backward lse short", g->lse_len = 159, SN_BUFFER_TOO_SMALL, "lse_len = 159", "160");
    BACKWARD_CASE("backward dout short", g->dout_len = 0, SN_BUFFER_TOO_SMALL, "dout_len = 0", "2560");
    BACKWARD_CASE("backward dq short", g->dq_len = 1, SN_BUFFER_TOO_SMALL, "dq_len = 1", "2560");
    BACKWARD_CASE("backward dk short", g->dk_len = 2239, SN_BUFFER_TOO_SMALL, "dk_len = 2239", "2240");
    BACKWARD_CASE("backward dv short", g->dv_len = 7, SN_BUFFER_TOO_SMALL, "dv_len = 7", "2240");

    /* Overlaps: every gradient against every input (layout arrays and segment ids included) and each other.
     * Only ranges are compared (nothing is written on failure). */
    BACKWARD_CASE("dq overlaps q", g->dq_ptr = f->q + 8, SN_INVALID_ARGUMENT, "dq overlaps q", NULL);
    BACKWARD_CASE("dk overlaps k", g->dk_ptr = f->k, SN_INVALID_ARGUMENT, "dk overlaps k", NULL);
    BACKWARD_CASE("dv overlaps v", g->dv_ptr = f->v + 100, SN_INVALID_ARGUMENT, "dv overlaps v", NULL);
    BACKWARD_CASE("dq overlaps out", g->dq_ptr = f->out + 1, SN_INVALID_ARGUMENT, "dq overlaps out", NULL);
    BACKWARD_CASE("dk overlaps lse", g->dk_ptr = f->lse + 5, SN_INVALID_ARGUMENT, "dk overlaps lse", NULL);
    BACKWARD_CASE("dv overlaps dout", g->dv_ptr = g->dout + 3, SN_INVALID_ARGUMENT, "dv overlaps dout", NULL);
    /* The layout's arrays and the segment ids are moved into a gradient's range (with their values). */
    BACKWARD_CASE("dq overlaps row_offsets",
                  (f->layout.row_offsets = memcpy(g->dq + 2000, f->row_offsets, sizeof f->row_offsets)),
                  SN_INVALID_ARGUMENT, "dq overlaps layout->row_offsets", NULL);
    BACKWARD_CASE("dk overlaps col_indices",
                  (f->layout.col_indices = memcpy(g->dk + 7, f->col_indices, sizeof f->col_indices)),
                  SN_INVALID_ARGUMENT, "dk overlaps layout->col_indices", NULL);
    BACKWARD_CASE("dv overlaps key segment ids",
                  (f->p.query_segment_ids = f->segq, f->p.key_segment_ids = memcpy(g->dv + 100, f->segk, sizeof f->segk)),
                  SN_INVALID_ARGUMENT, "dv overlaps problem->key_segment_ids", NULL);
    BACKWARD_CASE("dq overlaps query segment ids",
                  (f->p.key_segment_ids = f->segk, f->p.query_segment_ids = memcpy(g->dq + 1, f->segq, sizeof f->segq)),
                  SN_INVALID_ARGUMENT, "dq overlaps problem->query_segment_ids", NULL);
    BACKWARD_CASE("dk overlaps dv", g->dk_ptr = g->dv + 16, SN_INVALID_ARGUMENT, "dk overlaps dv", NULL);
    BACKWARD_CASE("dq overlaps dk", g->dq_ptr = g->dk + 1000 - B * HQ * LQ * D + 1, SN_INVALID_ARGUMENT, "dq overlaps dk", NULL);
    BACKWARD_CASE("dq is dv", g->dq_ptr = g->dv, SN_INVALID_ARGUMENT, "dq overlaps", NULL);

    /* Data: q, k, v as the forward; out and dout finite; lse finite or -inf. */
    BACKWARD_CASE("backward NaN in k", f->k[7] = NAN, SN_NON_FINITE, "k[7]", "nan");
    BACKWARD_CASE("backward scores could overflow", (f->q[2] = 1e19f, f->k[3] = 1e19f), SN_NON_FINITE, "q, k:",
                  "overflow float32");
    BACKWARD_CASE("backward inf in out", f->out[D + 1] = INFINITY, SN_NON_FINITE, "out[17] (batch 0, head 0, token 1, channel 1)", "inf");
    BACKWARD_CASE("backward NaN in dout", g->dout[5] = NAN, SN_NON_FINITE, "dout[5]", "nan");
    BACKWARD_CASE("backward +inf in lse", f->lse[11] = INFINITY, SN_NON_FINITE, "lse[11]", "inf");
    BACKWARD_CASE("backward NaN in lse", f->lse[0] = NAN, SN_NON_FINITE, "lse[0]", "nan");
    BACKWARD_CASE("backward -inf in lse is an empty row", f->lse[2] = -INFINITY, SN_OK, NULL, NULL);
}

static void info_cases(void)
{
    ++cases_run;
    int32_t size = -7, offsets[4] = { -1, -1, -1, -1 };
    CHECK(sn_struct_layout(0, &size, offsets, 4) == -1, "unknown struct id accepted");
    CHECK(sn_struct_layout(99, NULL, NULL, 0) == -1, "unknown struct id accepted");
    CHECK(strcmp(sn_status_name(SN_INVALID_LAYOUT), "SN_INVALID_LAYOUT") == 0, "status name");
    CHECK(strcmp(sn_status_name(-3), "SN_UNKNOWN_STATUS") == 0, "unknown status name");
}

int main(void)
{
    forward_cases();
    non_finite_allowed_cases();
    merge_cases();
    backward_cases();
    info_cases();
    printf("%d validation cases, %d failures\n", cases_run, test_failures);
    return test_failures == 0 ? 0 : 1;
}
