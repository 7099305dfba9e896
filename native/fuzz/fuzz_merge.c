/* libFuzzer harness for sn_merge_states: fuzzed sizes (edges of int32 included), formats, flags, lengths, values
 * (NaN, infinities, -infinity LSEs) and aliasing of the outputs with the inputs: exact in-place use (allowed) and
 * partial overlaps (refused). Buffers hold exactly min(claimed, required) elements so that ASan flags any access
 * the contract does not allow; sizes beyond a few MB run only when the call must fail (a short length or an
 * overflowing size). Checked: such calls fail and the message is set exactly on failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "sparse_native.h"

#define MAX_ELEMS ((size_t)1 << 18)

static void fail(const char* what, sn_status st)
{
    fprintf(stderr, "fuzz_merge: %s (status %s, message \"%s\")\n", what, sn_status_name(st), sn_last_error());
    abort();
}

static __int128 pos(int32_t v) { return v > 0 ? v : 0; }

static size_t clamp_size(__int128 v) { return v > (__int128)SIZE_MAX ? SIZE_MAX : (size_t)v; }

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    fuzz_input in = { data, size, 0 };
    const int32_t batch = fuzz_dim(&in, 2), heads = fuzz_dim(&in, 3), length = fuzz_dim(&in, 20);
    const int32_t head_dim = fuzz_dim(&in, 20);
    const uint8_t fsel = fuzz_u8(&in), flsel = fuzz_u8(&in);
    const int32_t format = fsel < 250 ? fsel % 2 : (int32_t)fuzz_u32(&in, 4);
    const int32_t flags = flsel < 250 ? (flsel % 2) * SN_FLAG_ALLOW_NON_FINITE : (int32_t)fuzz_u32(&in, 4);
    const __int128 on = pos(batch) * pos(heads) * pos(length) * pos(head_dim);
    const __int128 ln = pos(batch) * pos(heads) * pos(length);
    const size_t out_len = fuzz_len(&in, clamp_size(on)), lse_len = fuzz_len(&in, clamp_size(ln));
    const int big = on > (__int128)MAX_ELEMS || ln > (__int128)MAX_ELEMS;
    const int must_fail_big = big && (out_len < on || lse_len < ln || on * 4 > (__int128)INT64_MAX);
    if (big && !must_fail_big) return 0;
    const size_t oa = big ? 16 : (out_len < on ? out_len : (size_t)on);
    const size_t la = big ? 16 : (lse_len < ln ? lse_len : (size_t)ln);

    /* One block per buffer; the pointers may then be moved into another buffer. */
    float* bufs[6]; /* out_a, lse_a, out_b, lse_b, out, lse */
    const size_t counts[6] = { oa, la, oa, la, oa, la };
    for (int i = 0; i < 6; ++i) bufs[i] = malloc(counts[i] == 0 ? 4 : counts[i] * 4);
    float table[32];
    for (int i = 0; i < 32; ++i) table[i] = fuzz_float(&in);
    for (int i = 0; i < 4; ++i)
        for (size_t j = 0; j < counts[i]; ++j) bufs[i][j] = table[(j * (size_t)(5 + 2 * i) + (size_t)i) % 32];
    float* args[6];
    memcpy(args, bufs, sizeof args);

    /* Aliasing: out or lse onto an input, exactly (in place) or shifted (a partial overlap), or a NULL pointer. */
    const uint8_t asel = fuzz_u8(&in);
    int must_fail = must_fail_big;
    if (asel >= 160 && !big) {
        const int dst = (asel & 1) ? 5 : 4;            /* lse or out */
        const int src = (int)((asel >> 1) % 6);        /* any buffer but itself */
        const size_t src_count = counts[src];
        if (src != dst && src_count > 0) {
            const size_t shift = asel >= 224 ? 1 + fuzz_u8(&in) % src_count : 0;
            if (shift < src_count) {
                args[dst] = bufs[src] + shift;
                const int same_kind = (dst == 4 && (src == 0 || src == 2)) || (dst == 5 && (src == 1 || src == 3));
                const size_t dst_need = dst == 4 ? (size_t)on : (size_t)ln;
                if (dst_need > 0) {
                    if (shift != 0 || !same_kind) must_fail = 1;
                }
            }
        }
    } else if (asel >= 150) {
        args[asel % 6] = NULL;
        must_fail = 1;
    }

    const sn_status st = sn_merge_states(batch, heads, length, head_dim, format, flags, args[0], args[1], args[2],
                                         args[3], args[4], args[5], out_len, lse_len);
    if (must_fail && st == SN_OK) fail("a call that must fail (overlap, NULL, short buffer or overflow) succeeded", st);
    if ((st == SN_OK) != (sn_last_error()[0] == '\0')) fail("the message is not set exactly on failure", st);
    for (int i = 0; i < 6; ++i) free(bufs[i]);
    return 0;
}
