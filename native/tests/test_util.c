#include "test_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int test_failures;

uint64_t rng_next(uint64_t* state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

int32_t rng_int(uint64_t* state, int32_t lo, int32_t hi)
{
    return lo + (int32_t)(rng_next(state) % (uint64_t)(hi - lo + 1));
}

double rng_unit(uint64_t* state)
{
    return (double)(rng_next(state) >> 11) * (1.0 / 9007199254740992.0);
}

float rng_nonzero(uint64_t* state)
{
    float x;
    do x = (float)(2.0 * rng_unit(state) - 1.0);
    while (x == 0.0f);
    return x;
}

case_options random_options(uint64_t* rng)
{
    static const int32_t block_sizes[] = { 16, 32, 64, 128 };
    static const int32_t dims[] = { 8, 16, 24, 32, 40, 64, 72, 128 };
    case_options o;
    o.batch = rng_int(rng, 1, 2);
    o.kv_heads = rng_int(rng, 1, 3);
    o.group = rng_int(rng, 1, 3);
    o.block_size = block_sizes[rng_int(rng, 0, 3)];
    /* Lengths: often a few blocks with a ragged tail, sometimes one block or shorter. */
    const int32_t max_len = 3 * o.block_size + 17;
    o.query_length = rng_int(rng, 0, 3) == 0 ? rng_int(rng, 1, o.block_size) : rng_int(rng, 1, max_len);
    o.key_length = rng_int(rng, 0, 3) == 0 ? o.query_length : rng_int(rng, 1, max_len);
    o.head_dim = dims[rng_int(rng, 0, 7)];
    const int32_t hq = o.kv_heads * o.group;
    /* num_layouts: a random divisor of the query head count. */
    do o.num_layouts = rng_int(rng, 1, hq);
    while (hq % o.num_layouts != 0);
    o.format = rng_int(rng, 0, 1);
    o.causal = rng_int(rng, 0, 1);
    o.segments = rng_int(rng, 0, 2) == 0;
    o.num_threads = rng_int(rng, 0, 3);
    /* The usual 1/sqrt(d) (which the caller computes: the library has no default), or any other finite value. */
    o.scale = rng_int(rng, 0, 1) ? (float)(1.0 / sqrt((double)o.head_dim)) : (float)(1.1 * rng_unit(rng) - 0.55);
    o.density = rng_unit(rng);
    o.empty_rows = rng_int(rng, 0, 1) ? 0.0 : 0.3;
    return o;
}

static float* random_floats(int64_t n, uint64_t* rng)
{
    float* x = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; ++i) x[i] = rng_nonzero(rng);
    return x;
}

/* Segment ids as runs of random length (packed sequences), in [0, 3). */
static int32_t* random_segments(int32_t batch, int32_t length, uint64_t* rng)
{
    int32_t* s = malloc(sizeof(int32_t) * (size_t)batch * (size_t)length);
    for (int32_t b = 0; b < batch; ++b) {
        int32_t id = rng_int(rng, 0, 2);
        for (int32_t t = 0; t < length; ++t) {
            if (rng_int(rng, 0, 40) == 0) id = rng_int(rng, 0, 2);
            s[(int64_t)b * length + t] = id;
        }
    }
    return s;
}

void case_make(test_case* tc, const case_options* o, uint64_t* rng)
{
    memset(tc, 0, sizeof *tc);
    sn_problem* p = &tc->p;
    p->batch = o->batch;
    p->kv_heads = o->kv_heads;
    p->query_heads = o->kv_heads * o->group;
    p->query_length = o->query_length;
    p->key_length = o->key_length;
    p->head_dim = o->head_dim;
    p->format = o->format;
    p->flags = o->causal ? SN_FLAG_CAUSAL : 0;
    p->scale = o->scale;
    p->num_threads = o->num_threads;

    const int32_t bs = o->block_size;
    const int32_t qb = (o->query_length + bs - 1) / bs, kb = (o->key_length + bs - 1) / bs;
    tc->row_offsets = malloc(sizeof(int32_t) * (size_t)o->num_layouts * (size_t)(qb + 1));
    tc->col_indices = malloc(sizeof(int32_t) * (size_t)o->num_layouts * (size_t)qb * (size_t)kb + 1);
    int32_t total = 0;
    for (int32_t l = 0; l < o->num_layouts; ++l) {
        int32_t* ro = tc->row_offsets + (int64_t)l * (qb + 1);
        int32_t n = 0;
        ro[0] = 0;
        for (int32_t r = 0; r < qb; ++r) {
            const int empty = rng_unit(rng) < o->empty_rows;
            for (int32_t c = 0; c < kb; ++c)
                if (!empty && rng_unit(rng) < o->density) tc->col_indices[total + n++] = c;
            ro[r + 1] = n;
        }
        total += n;
    }
    tc->layout.block_size = bs;
    tc->layout.query_blocks = qb;
    tc->layout.key_blocks = kb;
    tc->layout.num_layouts = o->num_layouts;
    tc->layout.num_col_indices = total;
    tc->layout.row_offsets = tc->row_offsets;
    tc->layout.col_indices = tc->col_indices;

    tc->q_count = (int64_t)p->batch * p->query_heads * p->query_length * p->head_dim;
    tc->kv_count = (int64_t)p->batch * p->kv_heads * p->key_length * p->head_dim;
    tc->lse_count = (int64_t)p->batch * p->query_heads * p->query_length;
    tc->q = random_floats(tc->q_count, rng);
    tc->k = random_floats(tc->kv_count, rng);
    tc->v = random_floats(tc->kv_count, rng);
    if (o->segments) {
        tc->segq = random_segments(p->batch, p->query_length, rng);
        /* Self-attention shares ids between queries and keys; cross attention gets its own. */
        if (o->query_length == o->key_length) {
            tc->segk = malloc(sizeof(int32_t) * (size_t)p->batch * (size_t)p->key_length);
            memcpy(tc->segk, tc->segq, sizeof(int32_t) * (size_t)p->batch * (size_t)p->query_length);
        } else {
            tc->segk = random_segments(p->batch, p->key_length, rng);
        }
        p->query_segment_ids = tc->segq;
        p->key_segment_ids = tc->segk;
    }
}

void case_free(test_case* tc)
{
    free(tc->row_offsets);
    free(tc->col_indices);
    free(tc->segq);
    free(tc->segk);
    free(tc->q);
    free(tc->k);
    free(tc->v);
}

const char* case_describe(const test_case* tc)
{
    static char text[512];
    const sn_problem* p = &tc->p;
    snprintf(text, sizeof text,
             "B=%d Hq=%d Hkv=%d Lq=%d Lk=%d d=%d bs=%d L=%d nnz=%d format=%s causal=%d segments=%d scale=%g threads=%d",
             p->batch, p->query_heads, p->kv_heads, p->query_length, p->key_length, p->head_dim,
             tc->layout.block_size, tc->layout.num_layouts, tc->layout.num_col_indices,
             p->format == SN_FORMAT_BSHD ? "BSHD" : "BHSD", (p->flags & SN_FLAG_CAUSAL) != 0,
             p->query_segment_ids != NULL, (double)p->scale, p->num_threads);
    return text;
}

double rel_frobenius(const float* x, const double* ref, int64_t n)
{
    double num = 0.0, den = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        const double e = (double)x[i] - ref[i];
        num += e * e;
        den += ref[i] * ref[i];
    }
    if (den == 0.0) return num == 0.0 ? 0.0 : INFINITY;
    return sqrt(num / den);
}

float* guarded(int64_t n)
{
    float* x = malloc(sizeof(float) * (size_t)(n + TEST_GUARD));
    for (int64_t i = 0; i < n + TEST_GUARD; ++i) x[i] = TEST_SENTINEL;
    return x;
}

int guard_intact(const float* x, int64_t n)
{
    for (int64_t i = n; i < n + TEST_GUARD; ++i)
        if (x[i] != TEST_SENTINEL) return 0;
    return 1;
}
