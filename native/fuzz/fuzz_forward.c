/* libFuzzer harness for sn_attention_forward: fuzzed sn_problem fields, layouts (block size, block counts, list
 * count, offsets, columns, their count, reserved), segment ids, tensor lengths, formats, flags, thread counts,
 * values (NaN and infinities included) and overlapping outputs.
 *
 * What the harness keeps to the contract (the library cannot check it): row_offsets holds
 * num_layouts * (query_blocks + 1) values, col_indices num_col_indices, segment ids batch * length. Every buffer is
 * allocated with exactly min(claimed length, required length) elements, so ASan flags any read or write the
 * contract does not allow. Cases whose real buffers would exceed a few MB are run only when some length is too
 * small or a size overflows (the call must then fail without touching data); otherwise skipped.
 * Checked beyond "no crash": a call that must fail fails (overlaps, short buffers, overflowing sizes), the message
 * is set exactly on failure, and a success gives bitwise the same result with one thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "sparse_native.h"

/* The call under test: the CPU library's, or another library's through a hook (fuzz_cuda.c). */
#ifdef SN_FUZZ_FORWARD_HOOK
#include SN_FUZZ_FORWARD_HOOK
#else
#define FUZZ_NAME "fuzz_forward"
#define FUZZ_LAST_ERROR sn_last_error
#define FUZZ_COMPARE_THREADS 1
static sn_status fuzz_call(const sn_problem* p, const sn_layout* lay, const float* q, size_t q_len, const float* k,
                           size_t k_len, const float* v, size_t v_len, float* out, size_t out_len, float* lse,
                           size_t lse_len, size_t input_size)
{
    (void)input_size;
    return sn_attention_forward(p, lay, q, q_len, k, k_len, v, v_len, out, out_len, lse, lse_len);
}
#endif

#define MAX_ELEMS ((size_t)1 << 18) /* floats per tensor actually allocated */
#define MAX_INTS ((int64_t)1 << 14) /* ints in a layout or segment array */
#define MAX_WORK ((__int128)1 << 24) /* multiply-adds per call */

static void fail(const char* what, sn_status st)
{
    fprintf(stderr, "%s: %s (status %d, message \"%s\")\n", FUZZ_NAME, what, st, FUZZ_LAST_ERROR());
    abort();
}

static __int128 pos(int32_t v) { return v > 0 ? v : 0; }

/* v - 2 .. v + 2 (chosen by sel), saturated to int32: v may be INT32_MAX (one-token blocks of a huge length). */
static int32_t near(int32_t v, uint8_t sel)
{
    const int64_t w = (int64_t)v + sel % 5 - 2;
    return w > INT32_MAX ? INT32_MAX : w < INT32_MIN ? INT32_MIN : (int32_t)w;
}

static size_t clamp_size(__int128 v) { return v > (__int128)SIZE_MAX ? SIZE_MAX : (size_t)v; }

static void* alloc_count(size_t count, size_t elem)
{
    return malloc(count == 0 ? 1 : count * elem); /* never NULL for a zero count: NULL is its own test */
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    fuzz_input in = { data, size, 0 };
    sn_problem p;
    memset(&p, 0, sizeof p);
    p.batch = fuzz_dim(&in, 2);
    p.kv_heads = fuzz_dim(&in, 2);
    const uint8_t gsel = fuzz_u8(&in);
    const int64_t grouped = (int64_t)p.kv_heads * (1 + gsel % 3);
    p.query_heads = gsel < 240 && grouped <= INT32_MAX && grouped >= INT32_MIN ? (int32_t)grouped : fuzz_dim(&in, 4);
    p.query_length = fuzz_dim(&in, 70);
    p.key_length = fuzz_dim(&in, 70);
    const uint8_t dsel = fuzz_u8(&in);
    p.head_dim = dsel < 200 ? 8 * (1 + dsel % 4) : fuzz_dim(&in, 40);
    const uint8_t fsel = fuzz_u8(&in);
    p.format = fsel < 250 ? fsel % 2 : (int32_t)fuzz_u32(&in, 4);
    const uint8_t flsel = fuzz_u8(&in);
    p.flags = flsel < 250 ? flsel % 4 : (int32_t)fuzz_u32(&in, 4);
    const uint8_t ssel = fuzz_u8(&in);
    p.scale = ssel < 200 ? 0.35f : fuzz_float(&in);
    const uint8_t tsel = fuzz_u8(&in);
    static const int32_t thread_edges[] = { -1, 1024, 1025, INT32_MAX, INT32_MIN, 3 };
    p.num_threads = tsel < 200 ? tsel % 3 : thread_edges[tsel % 6];
    const uint8_t segsel = fuzz_u8(&in);

    /* The layout. */
    sn_layout lay;
    memset(&lay, 0, sizeof lay);
    static const int32_t sizes[] = { 16, 32, 64, 128 };
    const uint8_t bsel = fuzz_u8(&in);
    lay.block_size = bsel < 240 ? sizes[bsel % 4] : fuzz_dim(&in, 130);
    const int32_t bs = lay.block_size > 0 ? lay.block_size : 1;
    const int32_t qb = p.query_length > 0 ? (int32_t)(((int64_t)p.query_length + bs - 1) / bs) : 0;
    const int32_t kb = p.key_length > 0 ? (int32_t)(((int64_t)p.key_length + bs - 1) / bs) : 0;
    const uint8_t qbsel = fuzz_u8(&in), kbsel = fuzz_u8(&in);
    lay.query_blocks = qbsel < 230 ? qb : qbsel < 250 ? near(qb, qbsel) : fuzz_dim(&in, 8);
    lay.key_blocks = kbsel < 230 ? kb : kbsel < 250 ? near(kb, kbsel) : fuzz_dim(&in, 8);
    const uint8_t lsel = fuzz_u8(&in);
    lay.num_layouts = lsel < 160 ? 1 : lsel < 230 ? p.query_heads : fuzz_dim(&in, 4);
    lay.reserved = fuzz_u8(&in) < 252 ? 0 : (int32_t)fuzz_u32(&in, 4);

    const __int128 rows_total = pos(lay.num_layouts) * (pos(lay.query_blocks) + 1);
    if (rows_total > MAX_INTS) return 0; /* the trusted count of row_offsets: beyond what the harness allocates */
    const int32_t nl = lay.num_layouts > 0 ? lay.num_layouts : 0;
    const int32_t nqb = lay.query_blocks > 0 ? lay.query_blocks : 0;
    const int32_t nkb = lay.key_blocks > 0 ? lay.key_blocks : 0;
    int32_t* offsets = alloc_count((size_t)rows_total, sizeof(int32_t));
    int32_t* cols = alloc_count((size_t)MAX_INTS, sizeof(int32_t));
    int64_t total = 0;
    const uint8_t raw_cols = fuzz_u8(&in) >= 240;
    for (int32_t l = 0; l < nl; ++l) {
        int64_t in_list = 0;
        offsets[(int64_t)l * (nqb + 1)] = 0;
        for (int32_t r = 0; r < nqb; ++r) {
            const uint8_t c = fuzz_u8(&in);
            const int32_t start = nkb > 0 ? c % nkb : 0, step = 1 + (c >> 7);
            for (int32_t col = start; col < nkb && total < MAX_INTS && (c & 0x40) == 0; col += step) {
                cols[total++] = raw_cols && (fuzz_u8(&in) & 0xF0) == 0xF0 ? near(fuzz_dim(&in, nkb < INT32_MAX - 2 ? nkb + 2 : INT32_MAX), 1) : col; /* one less */
                ++in_list;
            }
            offsets[(int64_t)l * (nqb + 1) + r + 1] = (int32_t)in_list;
        }
    }
    /* Corrupt one offset now and then: decreasing, negative, huge, past the columns. */
    if (rows_total > 0 && fuzz_u8(&in) >= 230) {
        const uint32_t at = fuzz_u32(&in, 2) % (uint32_t)rows_total;
        offsets[at] = (int32_t)(uint32_t)((int64_t)fuzz_dim(&in, 16) - 8); /* wraps: INT32_MIN - 8 is a huge offset */
    }
    const uint8_t ncsel = fuzz_u8(&in);
    const int64_t declared = ncsel < 230 ? total : ncsel < 250 ? total + (int32_t)(ncsel % 5) - 2 : fuzz_dim(&in, 64);
    lay.num_col_indices = declared > INT32_MAX ? INT32_MAX : declared < INT32_MIN ? INT32_MIN : (int32_t)declared;
    int32_t* col_buf = NULL;
    int32_t* qseg = NULL;
    int32_t* kseg = NULL;
    const uint8_t nullsel = fuzz_u8(&in);
    if (lay.num_col_indices > MAX_INTS) goto done; /* trusted count beyond the harness's allocation */
    if (lay.num_col_indices > 0 || nullsel < 128) {
        const size_t n = lay.num_col_indices > 0 ? (size_t)lay.num_col_indices : 0;
        col_buf = alloc_count(n, sizeof(int32_t));
        for (size_t i = 0; i < n; ++i) col_buf[i] = (int64_t)i < total ? cols[i] : 0;
    }
    lay.col_indices = col_buf;
    lay.row_offsets = nullsel >= 250 ? NULL : offsets;

    /* Segment ids: both, neither, or (invalid) one of them. */
    if (segsel >= 128) {
        const __int128 nq = pos(p.batch) * pos(p.query_length), nk = pos(p.batch) * pos(p.key_length);
        if (nq > MAX_INTS || nk > MAX_INTS) goto done;
        qseg = alloc_count((size_t)nq, sizeof(int32_t));
        kseg = alloc_count((size_t)nk, sizeof(int32_t));
        const uint8_t m = fuzz_u8(&in);
        for (int64_t i = 0; i < (int64_t)nq; ++i) qseg[i] = (int32_t)((i * 7 + m) >> (m & 7)) % 3;
        for (int64_t i = 0; i < (int64_t)nk; ++i) kseg[i] = (int32_t)((i * 5 + m) >> (m & 7)) % 3;
        p.query_segment_ids = segsel == 250 ? NULL : qseg;
        p.key_segment_ids = segsel == 251 ? NULL : kseg;
    }

    /* Tensors: required counts, claimed lengths, allocations of min(claimed, required). */
    const __int128 qn = pos(p.batch) * pos(p.query_heads) * pos(p.query_length) * pos(p.head_dim);
    const __int128 kvn = pos(p.batch) * pos(p.kv_heads) * pos(p.key_length) * pos(p.head_dim);
    const __int128 ln = pos(p.batch) * pos(p.query_heads) * pos(p.query_length);
    const size_t q_len = fuzz_len(&in, clamp_size(qn)), k_len = fuzz_len(&in, clamp_size(kvn));
    const size_t v_len = fuzz_len(&in, clamp_size(kvn)), out_len = fuzz_len(&in, clamp_size(qn));
    const uint8_t lsesel = fuzz_u8(&in);
    const int no_lse = lsesel >= 240;
    size_t lse_len = no_lse ? (lsesel >= 250 ? 1 : 0) : fuzz_len(&in, clamp_size(ln));
    const int big = qn > (__int128)MAX_ELEMS || kvn > (__int128)MAX_ELEMS || ln > (__int128)MAX_ELEMS;
    const int some_short = q_len < qn || k_len < kvn || v_len < kvn || out_len < qn || (!no_lse && lse_len < ln);
    const int overflow = qn * 4 > (__int128)INT64_MAX || kvn * 4 > (__int128)INT64_MAX;
    const int must_fail_big = big && (some_short || overflow);
    if (big && !must_fail_big) goto done;
    if (!big && qn * pos(p.key_length) > MAX_WORK) goto done;
    /* Beyond MAX_ELEMS nothing may be touched: allocate a token buffer. */
#define ALLOC_T(len, req) (big ? 16 : ((__int128)(len) < (req) ? (len) : (size_t)(req)))
    const size_t qa = ALLOC_T(q_len, qn), ka = ALLOC_T(k_len, kvn), va = ALLOC_T(v_len, kvn);
    const size_t oa = ALLOC_T(out_len, qn), la = no_lse ? 0 : ALLOC_T(lse_len, ln);
    float* q = alloc_count(qa, 4);
    float* k = alloc_count(ka, 4);
    float* v = alloc_count(va, 4);
    float* out = alloc_count(oa, 4);
    float* lse = no_lse ? NULL : alloc_count(la, 4);
    float table[64];
    for (int i = 0; i < 64; ++i) table[i] = fuzz_float(&in);
    for (size_t i = 0; i < qa; ++i) q[i] = table[(i * 7) % 64];
    for (size_t i = 0; i < ka; ++i) k[i] = table[(i * 11 + 3) % 64];
    for (size_t i = 0; i < va; ++i) v[i] = table[(i * 13 + 5) % 64];

    /* Overlaps: out (or lse) placed inside something the call reads. */
    const uint8_t osel = fuzz_u8(&in);
    float* out_arg = out;
    float* lse_arg = lse;
    int must_fail = must_fail_big;
    if (osel >= 200 && !big && qn > 0) {
        struct { void* p; size_t bytes; } targets[] = {
            { q, qa * 4 }, { k, ka * 4 }, { v, va * 4 }, { lse, la * 4 },
            { offsets, (size_t)rows_total * 4 }, { col_buf, (size_t)(lay.num_col_indices > 0 ? lay.num_col_indices : 0) * 4 },
            { qseg, qseg ? (size_t)(pos(p.batch) * pos(p.query_length)) * 4 : 0 },
            { kseg, kseg ? (size_t)(pos(p.batch) * pos(p.key_length)) * 4 : 0 },
        };
        const int t = osel % 8;
        const int lse_into = (osel & 8) != 0 && t < 3 && lse != NULL && ln > 0;
        if (targets[t].p != NULL && targets[t].bytes >= 4) {
            const size_t off = (fuzz_u32(&in, 2) % (targets[t].bytes / 4)) * 4;
            float* inside = (float*)((char*)targets[t].p + off);
            if (lse_into) lse_arg = inside; else out_arg = inside;
            must_fail = 1;
        }
    }

    const sn_status st = fuzz_call(&p, &lay, q, q_len, k, k_len, v, v_len, out_arg, out_len, lse_arg, lse_len, size);
    if (must_fail && st == SN_OK) fail("a call that must fail (overlap, short buffer or overflowing size) succeeded", st);
    if ((st == SN_OK) != (FUZZ_LAST_ERROR()[0] == '\0')) fail("the message is not set exactly on failure", st);
#if FUZZ_COMPARE_THREADS
    if (st == SN_OK && p.num_threads != 1 && !big) {
        /* The same call on one thread: bitwise the same result. */
        float* out1 = alloc_count(oa, 4);
        float* lse1 = no_lse ? NULL : alloc_count(la, 4);
        sn_problem one = p;
        one.num_threads = 1;
        const sn_status st1 = sn_attention_forward(&one, &lay, q, q_len, k, k_len, v, v_len, out1, out_len, lse1, lse_len);
        if (st1 != SN_OK) fail("the one-thread call failed where the multi-thread one succeeded", st1);
        if (memcmp(out1, out, (size_t)qn * 4) != 0 || (lse && memcmp(lse1, lse, (size_t)ln * 4) != 0))
            fail("the result depends on the thread count", st1);
        free(out1);
        free(lse1);
    }
#endif
    free(q);
    free(k);
    free(v);
    free(out);
    free(lse);
done:
    free(qseg);
    free(kseg);
    free(col_buf);
    free(cols);
    free(offsets);
    return 0;
}
