/*
 * sparse_native.h - the C ABI of the SparseNative CPU library (libsparsenative).
 *
 * The exact meaning of every computation is docs/SEMANTICS.md; this header only says how to call it.
 *
 * ABI rules (why the header looks the way it does):
 *  - C11, no C++ constructs; every struct is blittable: fixed-width integers, float and pointers only,
 *    no enums inside structs (enum size is implementation-defined), no bit-fields, no unions. Managed
 *    code mirrors the structs with [StructLayout(Sequential)] and checks them at load time against
 *    sn_struct_layout().
 *  - Status codes and enumerations are plain int32_t values, for the same reason.
 *  - Any incompatible change to a struct, a signature or a documented behaviour increments
 *    SN_ABI_VERSION. Callers must compare sn_abi_version() with the SN_ABI_VERSION they compiled against.
 *  - Buffer lengths are passed explicitly (in elements, not bytes) so the library can refuse a buffer
 *    that is too small instead of reading or writing past its end.
 *  - Every entry point that returns sn_status sets a thread-local message readable with sn_last_error()
 *    on failure (naming the argument or field and the offending value) and clears it on success.
 */
#ifndef SPARSE_NATIVE_H
#define SPARSE_NATIVE_H

#include <stddef.h>
#include <stdint.h>

/* Symbol visibility: the library is built with -fvisibility=hidden, so only SN_API symbols are exported. */
#if defined(_WIN32) || defined(__CYGWIN__)
#  if defined(SN_BUILDING_LIBRARY)
#    define SN_API __declspec(dllexport)
#  else
#    define SN_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) || defined(__clang__)
#  define SN_API __attribute__((visibility("default")))
#else
#  define SN_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Version of this binary interface (structs, signatures, semantics). */
/* 2: sn_problem.scale is always used as given (1 read 0 as "1/sqrt(head_dim)").
 * 3: sn_attention_backward.
 * 4: an element type per tensor (sn_problem.q_dtype, k_dtype, v_dtype, out_dtype; sn_attention_forward takes
 *    const void* tensors). */
#define SN_ABI_VERSION 4

/* ---------------------------------------------------------------------------------------------------
 * Status codes
 * ------------------------------------------------------------------------------------------------- */

/* Returned by every fallible entry point. An int32_t rather than an enum type so that its size is fixed. */
typedef int32_t sn_status;

enum sn_status_code {
    SN_OK = 0,
    SN_INVALID_ARGUMENT = 1, /* a NULL argument (problem, layout, a buffer), a bad sn_problem field (size
                                <= 0, non-dividing heads, format, flag, non-finite scale, threads), a
                                shape whose byte count overflows 64 bits, overlapping buffers            */
    SN_INVALID_LAYOUT = 2,   /* anything wrong inside the sn_layout (NULL arrays included) or in its fit
                                to the problem: block size, block counts, lists, offsets, columns        */
    SN_UNSUPPORTED = 3,      /* valid by the contract but not by this backend (head_dim % 8 != 0)        */
    SN_OUT_OF_MEMORY = 4,    /* scratch memory could not be allocated                                    */
    SN_INTERNAL = 5,         /* a bug in the library; the message says where                              */
    SN_BUFFER_TOO_SMALL = 6, /* a *_len argument is smaller than the shape requires                      */
    SN_NON_FINITE = 7        /* NaN or infinity in q, k, v (or in merge inputs) while checking is on, or
                                finite q, k, v so large that float32 could overflow in the kernel:
                                head_dim*max|q|*max|k|*max(1, |scale|*log2 e) or key_length*max|v|
                                above FLT_MAX/2 (the message starts "q, k:" or "v:")                    */
};

/* ---------------------------------------------------------------------------------------------------
 * Enumerations used in struct fields (int32_t fields)
 * ------------------------------------------------------------------------------------------------- */

/* sn_problem.format. Element (b, h, t, c) of a tensor with H heads and length L lives at
 *   SN_FORMAT_BHSD: ((b*H + h)*L + t)*d + c
 *   SN_FORMAT_BSHD: ((b*L + t)*H + h)*d + c      (ONNX Runtime, most exporters)
 * q, k, v and out all use the same format; lse is always [B, Hq, Lq]. */
enum sn_format { SN_FORMAT_BHSD = 0, SN_FORMAT_BSHD = 1 };

/* sn_problem.flags (a bit set; unknown bits are rejected so that new flags cannot be silently ignored). */
enum sn_flags {
    SN_FLAG_CAUSAL = 1,          /* key j is visible to query i only if j <= i + (Lk - Lq) (bottom-right) */
    SN_FLAG_ALLOW_NON_FINITE = 2 /* skip the NaN/infinity and range scan of q, k, v (a pass over all
                                    inputs, as costly as the attention itself when decoding one query
                                    against a long cache). The call still succeeds and writes every
                                    element; the rows that read a non-finite value, or values past the
                                    range bounds, are unspecified (NaN, infinity), all others exact   */
};

/* sn_problem.q_dtype, k_dtype, v_dtype, out_dtype: the element type of each tensor (the CUDA library's snc_dtype
 * values). Lengths stay counts of elements. */
enum sn_dtype {
    SN_DTYPE_F32 = 0,  /* IEEE float32                                                                  */
    SN_DTYPE_F16 = 1,  /* IEEE binary16                                                                 */
    SN_DTYPE_BF16 = 2  /* bfloat16: the upper 16 bits of a float32                                      */
};

/* Identifiers for sn_struct_layout(). */
enum sn_struct_id { SN_STRUCT_LAYOUT = 1, SN_STRUCT_PROBLEM = 2 };

/* ---------------------------------------------------------------------------------------------------
 * Structs
 * ------------------------------------------------------------------------------------------------- */

/* A block-sparse layout: num_layouts CSR lists over a grid of query_blocks x key_blocks blocks.
 * Query head h uses list (h % num_layouts).
 *
 *  block_size       16, 32, 64 or 128.
 *  query_blocks     must equal ceil(query_length / block_size).
 *  key_blocks       must equal ceil(key_length / block_size).
 *  num_layouts      L >= 1 with query_heads % L == 0.
 *  num_col_indices  the length of col_indices: the total number of stored blocks over all lists.
 *  reserved         must be 0 (room to grow without changing the struct size).
 *  row_offsets      L * (query_blocks + 1) values (a count the library trusts): list l's offsets are
 *                   row_offsets[l*(query_blocks+1) .. l*(query_blocks+1) + query_blocks]; each list's
 *                   offsets start at 0 and never decrease.
 *  col_indices      the lists' column indices concatenated in list order. With
 *                   base(l) = sum over l' < l of row_offsets[l'*(query_blocks+1) + query_blocks]
 *                   (the number of blocks in the earlier lists), row r of list l holds the key blocks
 *                   col_indices[base(l) + row_offsets[l*(QB+1) + r] .. base(l) + row_offsets[l*(QB+1) + r + 1]),
 *                   strictly increasing and each in [0, key_blocks). base(L) must equal num_col_indices.
 *                   May be NULL only when num_col_indices == 0. */
typedef struct sn_layout {
    int32_t block_size;
    int32_t query_blocks;
    int32_t key_blocks;
    int32_t num_layouts;
    int32_t num_col_indices;
    int32_t reserved;
    const int32_t* row_offsets;
    const int32_t* col_indices;
} sn_layout;

/* The shape and options of one attention call.
 *
 *  batch, query_heads, kv_heads, query_length, key_length, head_dim   all >= 1;
 *                   query_heads % kv_heads == 0 (query head h reads kv head h / (query_heads / kv_heads));
 *                   head_dim % 8 == 0 for this backend.
 *  format           an sn_format value.
 *  flags            a bit set of sn_flags.
 *  scale            the factor applied to q.k, used exactly as given: any finite value, 0 (uniform weights
 *                   over the allowed keys) and negative values included. There is no default: for the
 *                   usual softmax(q.k / sqrt(d)) pass 1.0f / sqrtf((float)head_dim).
 *  num_threads      0 = one per CPU the process may run on (its affinity mask); n >= 1 = at most n threads
 *                   (capped by the number of work items and of those CPUs). The threads come from a pool the
 *                   library keeps between calls (the calling thread is one of them); a call made while the
 *                   pool serves another call runs on its calling thread alone. Results are bitwise identical for every thread count.
 *  query_segment_ids, key_segment_ids   both NULL, or both non-NULL: int32 [batch, query_length] and
 *                   [batch, key_length]; query i and key j attend only if their ids are equal. Their
 *                   lengths are not passed, so they cannot be checked: each must hold batch * length ids.
 *  q_dtype, k_dtype, v_dtype, out_dtype   sn_dtype values (0, the float32 of ABI 3 and before, for a zeroed
 *                   struct). sn_attention_forward takes q and out of one type and k and v of one type (any of the
 *                   three each; SN_UNSUPPORTED otherwise): the inputs are widened exactly, scores, softmax, sums and
 *                   lse are float32, and a float16/bfloat16 out is rounded once to nearest even. sn_attention_backward
 *                   and the CUDA library (whose calls take their element type as an argument) require all four 0. */
typedef struct sn_problem {
    int32_t batch;
    int32_t query_heads;
    int32_t kv_heads;
    int32_t query_length;
    int32_t key_length;
    int32_t head_dim;
    int32_t format;
    int32_t flags;
    float scale;
    int32_t num_threads;
    const int32_t* query_segment_ids;
    const int32_t* key_segment_ids;
    int32_t q_dtype;
    int32_t k_dtype;
    int32_t v_dtype;
    int32_t out_dtype;
} sn_problem;

/* ---------------------------------------------------------------------------------------------------
 * Library information
 * ------------------------------------------------------------------------------------------------- */

/* The SN_ABI_VERSION the library was compiled with. */
SN_API int32_t sn_abi_version(void);

/* The message of the last failed call on this thread ("" after a successful call). Never NULL; valid
 * until the next call into the library on this thread. UTF-8 (in practice ASCII). */
SN_API const char* sn_last_error(void);

/* The symbolic name of a status code ("SN_INVALID_LAYOUT"), or "SN_UNKNOWN_STATUS". Never NULL. */
SN_API const char* sn_status_name(sn_status status);

/* One line describing the build and the running machine, e.g.
 * "sparsenative 0.1.0 abi=1 compiler=GCC 12.2.0 target=x86_64 flags=-O3 ... kernels=avx512,avx2,generic
 *  selected=avx512 threads=pthreads". Never NULL; the storage is static. */
SN_API const char* sn_build_info(void);

/* The size and field offsets (in bytes, in declaration order) of a public struct, as compiled into the
 * library, so that bindings can verify their mirror of it. `which` is an sn_struct_id. Writes the size
 * to *size (if size != NULL) and the first min(count, max_offsets) offsets to offsets (if not NULL).
 * Returns the number of fields, or -1 for an unknown id. */
SN_API int32_t sn_struct_layout(int32_t which, int32_t* size, int32_t* offsets, int32_t max_offsets);

/* ---------------------------------------------------------------------------------------------------
 * Computation
 * ------------------------------------------------------------------------------------------------- */

/* Block-sparse attention forward pass (docs/SEMANTICS.md).
 * The tensors hold elements of problem->q_dtype, k_dtype, v_dtype and out_dtype; lse is always float32.
 *  q    [B, Hq, Lq, d] in problem->format, q_len >= B*Hq*Lq*d elements
 *  k, v [B, Hkv, Lk, d], k_len and v_len >= B*Hkv*Lk*d
 *  out  [B, Hq, Lq, d], out_len >= B*Hq*Lq*d; must not overlap q, k, v or lse
 *  lse  NULL (then lse_len must be 0) or [B, Hq, Lq] natural-log log-sum-exp, lse_len >= B*Hq*Lq
 * Elements beyond the required counts are neither read nor written. A query row with no allowed key
 * gets out = 0 and lse = -infinity. On failure nothing is guaranteed about out and lse. */
SN_API sn_status sn_attention_forward(const sn_problem* problem, const sn_layout* layout,
                                      const void* q, size_t q_len,
                                      const void* k, size_t k_len,
                                      const void* v, size_t v_len,
                                      void* out, size_t out_len,
                                      float* lse, size_t lse_len);

/* Block-sparse attention backward pass (docs/SEMANTICS.md, "Backward pass"): the gradients of a loss with
 * respect to q, k and v, given dout = dLoss/dout, for the same problem and layout as the forward call.
 *  q, out, dout, dq   [B, Hq, Lq, d] in problem->format, each *_len >= B*Hq*Lq*d elements
 *  k, v, dk, dv       [B, Hkv, Lk, d], each *_len >= B*Hkv*Lk*d
 *  lse                [B, Hq, Lq], lse_len >= B*Hq*Lq (required)
 * out and lse must be what sn_attention_forward returned for q, k, v with this problem and layout. With
 * p_ij = exp(scale * q_i.k_j - lse_i) over the allowed pairs and D_i = dout_i.out_i:
 *   dv_j = sum_i p_ij dout_i,  ds_ij = p_ij (dout_i.v_j - D_i),
 *   dq_i = scale sum_j ds_ij k_j,  dk_j = scale sum_i ds_ij q_i;
 * for GQA the sums of dk_j and dv_j run over every query head of the kv head's group. A query row with no
 * allowed key gets dq = 0, a key no query attends gets dk = dv = 0. Every required element of dq, dk and dv
 * is written; none beyond. dq, dk and dv must not overlap each other, an input (q, k, v, out, lse, dout),
 * the layout's arrays or the segment ids. Unless SN_FLAG_ALLOW_NON_FINITE is set, q, k, v, out and dout
 * must be finite and lse finite or -infinity (SN_NON_FINITE otherwise). No atomics: the results are
 * bitwise identical for every thread count. On failure nothing is guaranteed about dq, dk and dv. */
SN_API sn_status sn_attention_backward(const sn_problem* problem, const sn_layout* layout,
                                       const float* q, size_t q_len,
                                       const float* k, size_t k_len,
                                       const float* v, size_t v_len,
                                       const float* out, size_t out_len,
                                       const float* lse, size_t lse_len,
                                       const float* dout, size_t dout_len,
                                       float* dq, size_t dq_len,
                                       float* dk, size_t dk_len,
                                       float* dv, size_t dv_len);

/* Merges two partial results over disjoint key sets of the same queries (SEMANTICS.md, "Merging"):
 *   m = max(lse_a, lse_b), w_a = exp(lse_a - m), w_b = exp(lse_b - m),
 *   out = (w_a*out_a + w_b*out_b) / (w_a + w_b), lse = m + log(w_a + w_b); both -inf -> 0, -inf.
 *  out_a, out_b, out   [batch, heads, length, head_dim] in `format`; out_len is the element count that
 *                      EACH of the three holds (>= batch*heads*length*head_dim).
 *  lse_a, lse_b, lse   [batch, heads, length]; lse_len is the count each holds (>= batch*heads*length).
 *  flags               0 or SN_FLAG_ALLOW_NON_FINITE (otherwise NaN anywhere, or +infinity in an lse,
 *                      or infinity in an out, is SN_NON_FINITE; -infinity in an lse is always allowed).
 * In-place use is allowed: out may be out_a or out_b and lse may be lse_a or lse_b (exactly the same
 * pointer; other overlaps are rejected). Any head_dim >= 1 is accepted. */
SN_API sn_status sn_merge_states(int32_t batch, int32_t heads, int32_t length, int32_t head_dim,
                                 int32_t format, int32_t flags,
                                 const float* out_a, const float* lse_a,
                                 const float* out_b, const float* lse_b,
                                 float* out, float* lse,
                                 size_t out_len, size_t lse_len);

#ifdef __cplusplus
}
#endif

#endif /* SPARSE_NATIVE_H */
