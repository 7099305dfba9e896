#include "reference.h"

#include <math.h>
#include <stdlib.h>

int64_t ref_index(int32_t format, int64_t heads, int64_t length, int64_t head_dim, int64_t b, int64_t h,
                  int64_t t, int64_t c)
{
    if (format == SN_FORMAT_BSHD) return ((b * length + t) * heads + h) * head_dim + c;
    return ((b * heads + h) * length + t) * head_dim + c;
}

/* Is key block kb listed in row qb of list `list`? A plain scan of the CSR data. */
static int ref_block_listed(const sn_layout* layout, int32_t list, int32_t qb, int32_t kb)
{
    int64_t base = 0;
    for (int32_t l = 0; l < list; ++l) base += layout->row_offsets[(int64_t)l * (layout->query_blocks + 1) + layout->query_blocks];
    const int32_t* ro = layout->row_offsets + (int64_t)list * (layout->query_blocks + 1);
    for (int32_t e = ro[qb]; e < ro[qb + 1]; ++e)
        if (layout->col_indices[base + e] == kb) return 1;
    return 0;
}

void ref_attention(const sn_problem* p, const sn_layout* layout, const float* q, const float* k, const float* v,
                   double* out, double* lse)
{
    const int32_t B = p->batch, Hq = p->query_heads, Hkv = p->kv_heads, Lq = p->query_length, Lk = p->key_length,
                  d = p->head_dim, bs = layout->block_size;
    const double scale = (double)p->scale; /* as given: 0 and negative values included */
    double* s = malloc(sizeof(double) * (size_t)Lk);
    char* allowed = malloc((size_t)Lk);
    for (int32_t b = 0; b < B; ++b) {
        for (int32_t h = 0; h < Hq; ++h) {
            const int32_t hk = h / (Hq / Hkv);
            const int32_t list = h % layout->num_layouts;
            for (int32_t i = 0; i < Lq; ++i) {
                double mx = -INFINITY;
                for (int32_t j = 0; j < Lk; ++j) {
                    int ok = ref_block_listed(layout, list, i / bs, j / bs);
                    if (p->flags & SN_FLAG_CAUSAL) ok = ok && (int64_t)j <= (int64_t)i + (Lk - Lq);
                    if (p->query_segment_ids != NULL)
                        ok = ok && p->query_segment_ids[(int64_t)b * Lq + i] == p->key_segment_ids[(int64_t)b * Lk + j];
                    allowed[j] = (char)ok;
                    if (!ok) continue;
                    double dot = 0.0;
                    for (int32_t c = 0; c < d; ++c)
                        dot += (double)q[ref_index(p->format, Hq, Lq, d, b, h, i, c)] *
                               (double)k[ref_index(p->format, Hkv, Lk, d, b, hk, j, c)];
                    s[j] = scale * dot;
                    if (s[j] > mx) mx = s[j];
                }
                /* Two-pass softmax: weights exp(s_j - max), then normalise by their sum. */
                double sum = 0.0;
                for (int32_t j = 0; j < Lk; ++j) {
                    s[j] = allowed[j] ? exp(s[j] - mx) : 0.0;
                    sum += s[j];
                }
                for (int32_t c = 0; c < d; ++c) {
                    double acc = 0.0;
                    if (sum > 0.0)
                        for (int32_t j = 0; j < Lk; ++j)
                            if (allowed[j]) acc += s[j] / sum * (double)v[ref_index(p->format, Hkv, Lk, d, b, hk, j, c)];
                    out[ref_index(p->format, Hq, Lq, d, b, h, i, c)] = acc;
                }
                lse[((int64_t)b * Hq + h) * Lq + i] = sum > 0.0 ? mx + log(sum) : -INFINITY;
            }
        }
    }
    free(allowed);
    free(s);
}

void ref_merge(int64_t rows, int32_t head_dim, const double* out_a, const double* lse_a, const double* out_b,
               const double* lse_b, double* out, double* lse)
{
    for (int64_t r = 0; r < rows; ++r) {
        const double m = lse_a[r] > lse_b[r] ? lse_a[r] : lse_b[r];
        if (m == -INFINITY) {
            for (int32_t c = 0; c < head_dim; ++c) out[r * head_dim + c] = 0.0;
            lse[r] = -INFINITY;
            continue;
        }
        const double wa = exp(lse_a[r] - m), wb = exp(lse_b[r] - m);
        for (int32_t c = 0; c < head_dim; ++c)
            out[r * head_dim + c] = (wa * out_a[r * head_dim + c] + wb * out_b[r * head_dim + c]) / (wa + wb);
        lse[r] = m + log(wa + wb);
    }
}
