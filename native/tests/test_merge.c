/* sn_merge_states: against the float64 merge rule (both formats, -inf rows), bitwise identity when one
 * side is empty, in-place use, and the property that matters to callers: attention over a layout
 * equals the merge of attention over any split of its blocks into two disjoint layouts. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reference.h"
#include "test_util.h"

static void random_merge_case(uint64_t* rng, int32_t format)
{
    const int32_t B = rng_int(rng, 1, 2), H = rng_int(rng, 1, 4), L = rng_int(rng, 1, 37), d = rng_int(rng, 1, 20);
    const int64_t rows = (int64_t)B * H * L, n = rows * d;
    float *oa = malloc(sizeof(float) * (size_t)n), *ob = malloc(sizeof(float) * (size_t)n), *o = malloc(sizeof(float) * (size_t)n);
    float *la = malloc(sizeof(float) * (size_t)rows), *lb = malloc(sizeof(float) * (size_t)rows), *l = malloc(sizeof(float) * (size_t)rows);
    double *da = malloc(sizeof(double) * (size_t)n), *db = malloc(sizeof(double) * (size_t)n), *dout = malloc(sizeof(double) * (size_t)n);
    double *dla = malloc(sizeof(double) * (size_t)rows), *dlb = malloc(sizeof(double) * (size_t)rows), *dl = malloc(sizeof(double) * (size_t)rows);
    for (int64_t r = 0; r < rows; ++r) {
        const int kind = rng_int(rng, 0, 5); /* 0: a empty, 1: b empty, 2: both empty, else both finite */
        la[r] = kind == 0 || kind == 2 ? -INFINITY : (float)(8.0 * rng_unit(rng) - 4.0);
        lb[r] = kind == 1 || kind == 2 ? -INFINITY : (float)(8.0 * rng_unit(rng) - 4.0);
    }
    for (int64_t i = 0; i < n; ++i) {
        oa[i] = rng_nonzero(rng);
        ob[i] = rng_nonzero(rng);
    }
    /* Reference in [rows, d] order: row r = (b, h, t) of the lse. */
    for (int32_t b = 0; b < B; ++b)
        for (int32_t h = 0; h < H; ++h)
            for (int32_t t = 0; t < L; ++t) {
                const int64_t r = ((int64_t)b * H + h) * L + t;
                dla[r] = la[r];
                dlb[r] = lb[r];
                for (int32_t c = 0; c < d; ++c) {
                    const int64_t at = ref_index(format, H, L, d, b, h, t, c);
                    da[r * d + c] = oa[at];
                    db[r * d + c] = ob[at];
                }
            }
    ref_merge(rows, d, da, dla, db, dlb, dout, dl);

    sn_status st = sn_merge_states(B, H, L, d, format, 0, oa, la, ob, lb, o, l, (size_t)n, (size_t)rows);
    CHECK(st == SN_OK, "merge failed: %s", sn_last_error());
    double num = 0, den = 0;
    int64_t bad = 0;
    for (int32_t b = 0; b < B; ++b)
        for (int32_t h = 0; h < H; ++h)
            for (int32_t t = 0; t < L; ++t) {
                const int64_t r = ((int64_t)b * H + h) * L + t;
                if (dl[r] == -INFINITY) bad += l[r] != -INFINITY;
                else bad += !(fabs(l[r] - dl[r]) <= 1e-6 * fmax(1.0, fabs(dl[r])));
                for (int32_t c = 0; c < d; ++c) {
                    const int64_t at = ref_index(format, H, L, d, b, h, t, c);
                    const double e = o[at] - dout[r * d + c];
                    num += e * e;
                    den += dout[r * d + c] * dout[r * d + c];
                    if (lb[r] == -INFINITY && la[r] != -INFINITY) bad += o[at] != oa[at]; /* exact identity */
                    if (la[r] == -INFINITY && lb[r] != -INFINITY) bad += o[at] != ob[at];
                    if (dl[r] == -INFINITY) bad += o[at] != 0.0f;
                }
            }
    CHECK(bad == 0, "%lld merged values wrong (format %d)", (long long)bad, format);
    CHECK(den == 0 || sqrt(num / den) <= 1e-6, "merge relative error %.3g", sqrt(num / den));

    /* In place (into a) gives the same bits. */
    st = sn_merge_states(B, H, L, d, format, 0, oa, la, ob, lb, oa, la, (size_t)n, (size_t)rows);
    CHECK(st == SN_OK && memcmp(oa, o, sizeof(float) * (size_t)n) == 0 && memcmp(la, l, sizeof(float) * (size_t)rows) == 0,
          "in-place merge differs");
    free(oa); free(ob); free(o); free(la); free(lb); free(l);
    free(da); free(db); free(dout); free(dla); free(dlb); free(dl);
}

/* Splits every row of tc's layout into two disjoint layouts (each block goes to one side at random). */
static void split_layout(const test_case* tc, uint64_t* rng, int32_t* ro_a, int32_t* ci_a, int32_t* ro_b, int32_t* ci_b,
                         sn_layout* a, sn_layout* b)
{
    const sn_layout* src = &tc->layout;
    const int32_t qb = src->query_blocks;
    int32_t na = 0, nb = 0, base = 0;
    for (int32_t l = 0; l < src->num_layouts; ++l) {
        const int32_t* ro = src->row_offsets + (int64_t)l * (qb + 1);
        int32_t* ra = ro_a + (int64_t)l * (qb + 1);
        int32_t* rb = ro_b + (int64_t)l * (qb + 1);
        const int32_t start_a = na, start_b = nb;
        ra[0] = rb[0] = 0;
        for (int32_t r = 0; r < qb; ++r) {
            for (int32_t e = ro[r]; e < ro[r + 1]; ++e) {
                if (rng_int(rng, 0, 1)) ci_a[na++] = src->col_indices[base + e];
                else ci_b[nb++] = src->col_indices[base + e];
            }
            ra[r + 1] = na - start_a;
            rb[r + 1] = nb - start_b;
        }
        base += ro[qb];
    }
    *a = *src;
    *b = *src;
    a->row_offsets = ro_a;
    a->col_indices = ci_a;
    a->num_col_indices = na;
    b->row_offsets = ro_b;
    b->col_indices = ci_b;
    b->num_col_indices = nb;
}

static void split_case(uint64_t* rng)
{
    case_options o = random_options(rng);
    o.density = 0.3 + 0.7 * rng_unit(rng);
    test_case tc;
    case_make(&tc, &o, rng);
    const size_t ro_count = (size_t)tc.layout.num_layouts * (size_t)(tc.layout.query_blocks + 1);
    const size_t ci_count = (size_t)tc.layout.num_col_indices + 1;
    int32_t *ro_a = malloc(sizeof(int32_t) * ro_count), *ro_b = malloc(sizeof(int32_t) * ro_count);
    int32_t *ci_a = malloc(sizeof(int32_t) * ci_count), *ci_b = malloc(sizeof(int32_t) * ci_count);
    sn_layout la, lb;
    split_layout(&tc, rng, ro_a, ci_a, ro_b, ci_b, &la, &lb);

    const size_t n = (size_t)tc.q_count, rows = (size_t)tc.lse_count;
    float *oa = malloc(sizeof(float) * n), *ob = malloc(sizeof(float) * n), *om = malloc(sizeof(float) * n);
    float *lsa = malloc(sizeof(float) * rows), *lsb = malloc(sizeof(float) * rows), *lsm = malloc(sizeof(float) * rows);
    double *ref = malloc(sizeof(double) * n), *ref_lse = malloc(sizeof(double) * rows);
    sn_status st = sn_attention_forward(&tc.p, &la, tc.q, n, tc.k, (size_t)tc.kv_count, tc.v, (size_t)tc.kv_count, oa, n, lsa, rows);
    CHECK(st == SN_OK, "forward a: %s", sn_last_error());
    st = sn_attention_forward(&tc.p, &lb, tc.q, n, tc.k, (size_t)tc.kv_count, tc.v, (size_t)tc.kv_count, ob, n, lsb, rows);
    CHECK(st == SN_OK, "forward b: %s", sn_last_error());
    st = sn_merge_states(tc.p.batch, tc.p.query_heads, tc.p.query_length, tc.p.head_dim, tc.p.format, 0, oa, lsa, ob, lsb, om, lsm,
                         n, rows);
    CHECK(st == SN_OK, "merge: %s", sn_last_error());
    ref_attention(&tc.p, &tc.layout, tc.q, tc.k, tc.v, ref, ref_lse);
    const double err = rel_frobenius(om, ref, (int64_t)n);
    CHECK(err <= 1e-5, "split+merge relative error %.3g for %s", err, case_describe(&tc));
    int64_t bad = 0;
    for (size_t r = 0; r < rows; ++r)
        bad += ref_lse[r] == -INFINITY ? lsm[r] != -INFINITY : !(fabs(lsm[r] - ref_lse[r]) <= 1e-5 * fmax(1.0, fabs(ref_lse[r])));
    CHECK(bad == 0, "%lld merged lse values wrong for %s", (long long)bad, case_describe(&tc));
    free(oa); free(ob); free(om); free(lsa); free(lsb); free(lsm); free(ref); free(ref_lse);
    free(ro_a); free(ro_b); free(ci_a); free(ci_b);
    case_free(&tc);
}

int main(void)
{
    uint64_t rng = 99;
    for (int i = 0; i < 100; ++i) random_merge_case(&rng, i % 2);
    for (int i = 0; i < 40; ++i) split_case(&rng);
    printf("100 merge cases, 40 split-and-merge cases, %d failures\n", test_failures);
    return test_failures == 0 ? 0 : 1;
}
