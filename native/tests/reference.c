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

/* Does query i of (batch b, list) see key j? The definition: listed block, causal rule, segment ids. */
static int ref_allowed(const sn_problem* p, const sn_layout* layout, int32_t list, int32_t b, int32_t i, int32_t j)
{
    const int32_t bs = layout->block_size, Lq = p->query_length, Lk = p->key_length;
    int ok = ref_block_listed(layout, list, i / bs, j / bs);
    if (p->flags & SN_FLAG_CAUSAL) ok = ok && (int64_t)j <= (int64_t)i + (Lk - Lq);
    if (p->query_segment_ids != NULL)
        ok = ok && p->query_segment_ids[(int64_t)b * Lq + i] == p->key_segment_ids[(int64_t)b * Lk + j];
    return ok;
}

/* Row i of (b, h): allowed[j] and the softmax weights w[j] (0 where not allowed); returns the lse. */
static double ref_row_weights(const sn_problem* p, const sn_layout* layout, const double* q, const double* k,
                              int32_t b, int32_t h, int32_t i, char* allowed, double* w)
{
    const int32_t Hq = p->query_heads, Hkv = p->kv_heads, Lq = p->query_length, Lk = p->key_length, d = p->head_dim;
    const int32_t hk = h / (Hq / Hkv), list = h % layout->num_layouts;
    const double scale = (double)p->scale; /* as given: 0 and negative values included */
    double mx = -INFINITY;
    for (int32_t j = 0; j < Lk; ++j) {
        allowed[j] = (char)ref_allowed(p, layout, list, b, i, j);
        if (!allowed[j]) continue;
        double dot = 0.0;
        for (int32_t c = 0; c < d; ++c)
            dot += q[ref_index(p->format, Hq, Lq, d, b, h, i, c)] * k[ref_index(p->format, Hkv, Lk, d, b, hk, j, c)];
        w[j] = scale * dot;
        if (w[j] > mx) mx = w[j];
    }
    /* Two-pass softmax: weights exp(s_j - max), then normalise by their sum. */
    double sum = 0.0;
    for (int32_t j = 0; j < Lk; ++j) {
        w[j] = allowed[j] ? exp(w[j] - mx) : 0.0;
        sum += w[j];
    }
    for (int32_t j = 0; j < Lk; ++j) w[j] = sum > 0.0 ? w[j] / sum : 0.0;
    return sum > 0.0 ? mx + log(sum) : -INFINITY;
}

void ref_attention_f64(const sn_problem* p, const sn_layout* layout, const double* q, const double* k,
                       const double* v, double* out, double* lse)
{
    const int32_t B = p->batch, Hq = p->query_heads, Hkv = p->kv_heads, Lq = p->query_length, Lk = p->key_length,
                  d = p->head_dim;
    double* w = malloc(sizeof(double) * (size_t)Lk);
    char* allowed = malloc((size_t)Lk);
    for (int32_t b = 0; b < B; ++b)
        for (int32_t h = 0; h < Hq; ++h) {
            const int32_t hk = h / (Hq / Hkv);
            for (int32_t i = 0; i < Lq; ++i) {
                lse[((int64_t)b * Hq + h) * Lq + i] = ref_row_weights(p, layout, q, k, b, h, i, allowed, w);
                for (int32_t c = 0; c < d; ++c) {
                    double acc = 0.0;
                    for (int32_t j = 0; j < Lk; ++j)
                        if (allowed[j]) acc += w[j] * v[ref_index(p->format, Hkv, Lk, d, b, hk, j, c)];
                    out[ref_index(p->format, Hq, Lq, d, b, h, i, c)] = acc;
                }
            }
        }
    free(allowed);
    free(w);
}

double* ref_widen(const float* x, int64_t n)
{
    double* y = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    for (int64_t i = 0; i < n; ++i) y[i] = (double)x[i];
    return y;
}

void ref_attention(const sn_problem* p, const sn_layout* layout, const float* q, const float* k, const float* v,
                   double* out, double* lse)
{
    const int64_t qn = (int64_t)p->batch * p->query_heads * p->query_length * p->head_dim;
    const int64_t kn = (int64_t)p->batch * p->kv_heads * p->key_length * p->head_dim;
    double* qd = ref_widen(q, qn);
    double* kd = ref_widen(k, kn);
    double* vd = ref_widen(v, kn);
    ref_attention_f64(p, layout, qd, kd, vd, out, lse);
    free(vd);
    free(kd);
    free(qd);
}

void ref_attention_backward(const sn_problem* p, const sn_layout* layout, const double* q, const double* k,
                            const double* v, const double* dout, double* dq, double* dk, double* dv)
{
    const int32_t B = p->batch, Hq = p->query_heads, Hkv = p->kv_heads, Lq = p->query_length, Lk = p->key_length,
                  d = p->head_dim;
    const double scale = (double)p->scale;
    const int64_t kn = (int64_t)B * Hkv * Lk * d;
    for (int64_t x = 0; x < kn; ++x) dk[x] = dv[x] = 0.0;
    double* w = malloc(sizeof(double) * (size_t)Lk);
    double* ds = malloc(sizeof(double) * (size_t)Lk);
    double* o = malloc(sizeof(double) * (size_t)d);
    char* allowed = malloc((size_t)Lk);
    for (int32_t b = 0; b < B; ++b)
        for (int32_t h = 0; h < Hq; ++h) {
            const int32_t hk = h / (Hq / Hkv);
#define QI(t, c) ref_index(p->format, Hq, Lq, d, b, h, t, c)
#define KJ(t, c) ref_index(p->format, Hkv, Lk, d, b, hk, t, c)
            for (int32_t i = 0; i < Lq; ++i) {
                ref_row_weights(p, layout, q, k, b, h, i, allowed, w);
                /* o_i from the weights (recomputed, not taken from the caller), then D_i = dO_i . o_i. */
                double D = 0.0;
                for (int32_t c = 0; c < d; ++c) {
                    o[c] = 0.0;
                    for (int32_t j = 0; j < Lk; ++j) o[c] += w[j] * v[KJ(j, c)];
                    D += dout[QI(i, c)] * o[c];
                }
                for (int32_t j = 0; j < Lk; ++j) {
                    ds[j] = 0.0;
                    if (!allowed[j]) continue;
                    double dp = 0.0;
                    for (int32_t c = 0; c < d; ++c) dp += dout[QI(i, c)] * v[KJ(j, c)];
                    ds[j] = w[j] * (dp - D);
                }
                for (int32_t c = 0; c < d; ++c) {
                    double acc = 0.0;
                    for (int32_t j = 0; j < Lk; ++j) acc += ds[j] * k[KJ(j, c)];
                    dq[QI(i, c)] = scale * acc;
                }
                for (int32_t j = 0; j < Lk; ++j) {
                    if (!allowed[j]) continue;
                    for (int32_t c = 0; c < d; ++c) {
                        dk[KJ(j, c)] += scale * ds[j] * q[QI(i, c)];
                        dv[KJ(j, c)] += w[j] * dout[QI(i, c)];
                    }
                }
            }
#undef QI
#undef KJ
        }
    free(allowed);
    free(o);
    free(ds);
    free(w);
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
