// The backward: FlashAttention-2's backward over the block layout, with SIMT FMA in f32, deterministic (no
// atomics: every gradient element is owned by one thread, which sums its terms in a fixed order). One source for
// every storage type: f32, or f16/bf16 (q, k, v, out, dout read as 16-bit values and widened exactly to f32 as
// they are staged in shared memory; dq, dk, dv rounded to the 16-bit type once, at the store; lse is f32). The
// 16-bit variant does its products on the SIMT units, not on tensor cores.
//
// Two kernels, run one after the other on the caller's stream; each recomputes the scores of the tile pairs it
// visits from q, k and the forward's lse (P is never stored in global memory):
//   dq kernel   one thread block per (query tile, query head, batch), query-tile-major over the layout's CSR
//               rows: dQ = scale * sum over key tiles of dS K.
//   dk/dv kernel one thread block per (key tile, kv head, batch), key-tile-major over the layout's transpose
//               (CSC, built on the host once per uploaded layout, at its first backward call): dV = sum P^T dO and dK = scale * sum dS^T Q
//               over the query heads of the kv head's group (in increasing order), then the query blocks of
//               the column (increasing), then the query tiles of each block (increasing).
// Per tile pair (rows i of the query tile, keys j of the key tile):
//   P[i][j]  = exp(scale q_i.k_j - lse_i), 0 where the pair is masked or the row is empty (lse_i = -inf)
//   dS[i][j] = P[i][j] (dO_i.v_j - D_i),   D_i = dO_i.O_i (computed with each query tile from O and dO)
// Tiles are T x T with T = 32 (16 for block size 16 or head_dim > 128), 128 threads. Shared memory: the Q,
// dO, K, V tiles (row pitch d + 4 floats, 16-byte aligned rows), P and dS (pitch T + 1), and per-row lse, D and
// segment ids. Element (i, j) of P and dS is computed by thread (i T + j) % 128; gradient element (row, c) of
// the output tile by thread (row d + c) % 128, so consecutive threads write consecutive channels.
#include "snc_device.cuh"
#include "snc_launch.h"

namespace snc {
namespace {

constexpr int kBwdThreads = 128;
constexpr float kLog2e = 1.44269504088896340736f;

__host__ __device__ constexpr int bwd_pitch(int d) { return d + 4; }

// The shared-memory tiles of one thread block (T x T tile pair).
struct BwdTiles {
    float* Qs;     // [T][pitch] queries of the query tile (zeros past Lq)
    float* dOs;    // [T][pitch] dO of the query tile
    float* Ks;     // [T][pitch] keys of the key tile (zeros past Lk)
    float* Vs;     // [T][pitch]
    float* Ps;     // [T][T + 1]
    float* dSs;    // [T][T + 1]
    float* lse;    // [T] natural-log lse of each query row, -inf for empty rows and rows past Lq
    float* delta;  // [T] D_i
    int* segq;     // [T] query segment ids (0 without segment ids)
    int* segk;     // [T] key segment ids
};

template <int T>
__device__ __forceinline__ BwdTiles carve_tiles(float* smem, int d)
{
    const int pitch = bwd_pitch(d);
    BwdTiles s;
    s.Qs = smem;
    s.dOs = s.Qs + T * pitch;
    s.Ks = s.dOs + T * pitch;
    s.Vs = s.Ks + T * pitch;
    s.Ps = s.Vs + T * pitch;
    s.dSs = s.Ps + T * (T + 1);
    s.lse = s.dSs + T * (T + 1);
    s.delta = s.lse + T;
    s.segq = reinterpret_cast<int*>(s.delta + T);
    s.segk = s.segq + T;
    return s;
}

template <int T>
__host__ __device__ constexpr size_t bwd_shared_bytes(int d)
{
    return sizeof(float) * (4u * T * bwd_pitch(d) + 2u * T * (T + 1) + 2u * T) + sizeof(int) * 2u * T;
}

// Element i of a tensor of the storage type, as f32 (exact), and its store (rounded once for 16-bit types).
template <int DTYPE>
__device__ __forceinline__ float load_elem(const void* base, int64_t i)
{
    if constexpr (DTYPE == SNC_DTYPE_F32) return static_cast<const float*>(base)[i];
    else return widen16<DTYPE>(static_cast<const uint16_t*>(base)[i]);
}

template <int DTYPE>
__device__ __forceinline__ void store_elem(void* base, int64_t i, float x)
{
    if constexpr (DTYPE == SNC_DTYPE_F32) static_cast<float*>(base)[i] = x;
    else static_cast<uint16_t*>(base)[i] = narrow16<DTYPE>(x);
}

// Rows [t0, t0 + T) of one head (element offset `head` of `tensor`) into tile[T][pitch] as f32, four elements at a
// time (16 bytes of f32, 8 of a 16-bit type: aligned, as rows start at multiples of head_dim, a multiple of 8);
// rows past `length` become zeros.
template <int T, int DTYPE>
__device__ __forceinline__ void load_rows(float* tile, const void* tensor, int64_t head, int64_t token_stride, int t0,
                                          int length, int d)
{
    const int chunks = d / 4;
    for (int idx = threadIdx.x; idx < T * chunks; idx += kBwdThreads) {
        const int r = idx / chunks, c = (idx % chunks) * 4;
        float4* dst = reinterpret_cast<float4*>(tile + r * bwd_pitch(d) + c);
        if (t0 + r >= length) {
            dst->x = dst->y = dst->z = dst->w = 0.0f;
        } else if constexpr (DTYPE == SNC_DTYPE_F32) {
            *dst = *reinterpret_cast<const float4*>(static_cast<const float*>(tensor) + head + (t0 + r) * token_stride + c);
        } else {
            const uint2 w = *reinterpret_cast<const uint2*>(static_cast<const uint16_t*>(tensor) + head +
                                                            (t0 + r) * token_stride + c);
            dst->x = widen16<DTYPE>(static_cast<uint16_t>(w.x & 0xFFFFu));
            dst->y = widen16<DTYPE>(static_cast<uint16_t>(w.x >> 16));
            dst->z = widen16<DTYPE>(static_cast<uint16_t>(w.y & 0xFFFFu));
            dst->w = widen16<DTYPE>(static_cast<uint16_t>(w.y >> 16));
        }
    }
}

// The query side of a tile: Q and dO rows, then (after they are in shared memory) lse, D and segment ids.
// Ends with a barrier: the tile is complete.
template <int T, int DTYPE>
__device__ void load_query_tile(const snc_backward_plan& bp, const BwdTiles& s, int b, int h, int r0, int d)
{
    const sn_plan& p = bp.plan;
    const int64_t head = q_offset(p, b, h, 0);
    load_rows<T, DTYPE>(s.Qs, p.q, head, p.q_token_stride, r0, p.query_length, d);
    load_rows<T, DTYPE>(s.dOs, bp.dout, head, p.q_token_stride, r0, p.query_length, d);
    __syncthreads();
    for (int i = threadIdx.x; i < T; i += kBwdThreads) {
        const int row = r0 + i;
        float lse = -INFINITY, delta = 0.0f;
        int seg = 0;
        if (row < p.query_length) {
            lse = p.lse[(static_cast<int64_t>(b) * p.query_heads + h) * p.query_length + row];
            const int64_t o = head + row * p.q_token_stride;
            const float* g = s.dOs + i * bwd_pitch(d);
            for (int c = 0; c < d; ++c) delta += g[c] * load_elem<DTYPE>(bp.out, o + c);
            if (p.query_segment_ids != nullptr) seg = p.query_segment_ids[static_cast<int64_t>(b) * p.query_length + row];
        }
        s.lse[i] = lse;
        s.delta[i] = delta;
        s.segq[i] = seg;
    }
    __syncthreads();
}

// The key side of a tile: K and V rows and the key segment ids (no barrier: the caller syncs before use).
template <int T, int DTYPE>
__device__ __forceinline__ void load_key_tile(const snc_backward_plan& bp, const BwdTiles& s, int b, int hk, int k0,
                                              int d)
{
    const sn_plan& p = bp.plan;
    const int64_t head = kv_offset(p, b, hk, 0);
    load_rows<T, DTYPE>(s.Ks, p.k, head, p.kv_token_stride, k0, p.key_length, d);
    load_rows<T, DTYPE>(s.Vs, p.v, head, p.kv_token_stride, k0, p.key_length, d);
    for (int j = threadIdx.x; j < T; j += kBwdThreads) {
        const int key = k0 + j;
        s.segk[j] = p.key_segment_ids != nullptr && key < p.key_length
                        ? p.key_segment_ids[static_cast<int64_t>(b) * p.key_length + key] : 0;
    }
}

// P and dS of the tile pair (query rows from r0, keys from k0) into s.Ps and s.dSs. The caller syncs after.
template <int T>
__device__ void tile_p_ds(const sn_plan& p, const BwdTiles& s, int r0, int k0, int d)
{
    const int pitch = bwd_pitch(d);
    const bool masked = tile_needs_mask(p, r0, k0, T);
    for (int idx = threadIdx.x; idx < T * T; idx += kBwdThreads) {
        const int i = idx / T, j = idx % T;
        const float lse = s.lse[i];
        float pij = 0.0f, dsij = 0.0f;
        if (lse != -INFINITY && (!masked || token_allowed(p, r0 + i, k0 + j, s.segq[i], s.segk[j]))) {
            const float* q = s.Qs + i * pitch;
            const float* g = s.dOs + i * pitch;
            const float* k = s.Ks + j * pitch;
            const float* v = s.Vs + j * pitch;
            float score = 0.0f, dp = 0.0f;
            for (int c = 0; c < d; c += 4) {
                const float4 qv = *reinterpret_cast<const float4*>(q + c);
                const float4 kv = *reinterpret_cast<const float4*>(k + c);
                const float4 gv = *reinterpret_cast<const float4*>(g + c);
                const float4 vv = *reinterpret_cast<const float4*>(v + c);
                score += qv.x * kv.x + qv.y * kv.y + qv.z * kv.z + qv.w * kv.w;
                dp += gv.x * vv.x + gv.y * vv.y + gv.z * vv.z + gv.w * vv.w;
            }
            // Base 2 like the forward: exp(scale s - lse) = exp2(scale log2e s - lse log2e); <= 1 up to rounding.
            pij = exp2f(score * p.scale_log2 - lse * kLog2e);
            dsij = pij * (dp - s.delta[i]);
        }
        s.Ps[i * (T + 1) + j] = pij;
        s.dSs[i * (T + 1) + j] = dsij;
    }
}

// EPT: gradient elements per thread (T x DMAX over 128 threads).
template <int T, int DMAX, int DTYPE>
__global__ void __launch_bounds__(kBwdThreads) attention_bwd_dq(const snc_backward_plan bp)
{
    constexpr int EPT = T * DMAX / kBwdThreads;
    const sn_plan& p = bp.plan;
    const int d = p.head_dim;
    const int pitch = bwd_pitch(d);
    const int q0 = blockIdx.x * T, h = blockIdx.y, b = blockIdx.z;
    const int hk = h / p.group;
    if (q0 >= p.query_length) return; // tail tiles of the last block (uniform per thread block)

    SNC_DYNAMIC_SHARED(float4, smem_f4);
    const BwdTiles s = carve_tiles<T>(reinterpret_cast<float*>(smem_f4), d);
    load_query_tile<T, DTYPE>(bp, s, b, h, q0, d);
    const TileList tiles = make_tile_list(p, h, q0, T, T);

    float acc[EPT];
#pragma unroll
    for (int e = 0; e < EPT; ++e) acc[e] = 0.0f;

    for (int t = 0; t < tiles.count; ++t) {
        const int k0 = tiles.key_start(p, t);
        load_key_tile<T, DTYPE>(bp, s, b, hk, k0, d);
        __syncthreads();
        tile_p_ds<T>(p, s, q0, k0, d);
        __syncthreads();
#pragma unroll
        for (int e = 0; e < EPT; ++e) {
            const int idx = threadIdx.x + e * kBwdThreads;
            if (idx < T * d) {
                const int i = idx / d, c = idx % d;
                float sum = acc[e];
                for (int j = 0; j < T; ++j) sum += s.dSs[i * (T + 1) + j] * s.Ks[j * pitch + c];
                acc[e] = sum;
            }
        }
        __syncthreads(); // K, V, dS are free for the next key tile
    }

    const int64_t dq_head = q_offset(p, b, h, 0);
#pragma unroll
    for (int e = 0; e < EPT; ++e) {
        const int idx = threadIdx.x + e * kBwdThreads;
        const int i = idx / d, c = idx % d;
        if (idx < T * d && q0 + i < p.query_length)
            store_elem<DTYPE>(bp.dq, dq_head + (q0 + i) * p.q_token_stride + c, p.scale * acc[e]);
    }
}

template <int T, int DMAX, int DTYPE>
__global__ void __launch_bounds__(kBwdThreads) attention_bwd_dkv(const snc_backward_plan bp)
{
    constexpr int EPT = T * DMAX / kBwdThreads;
    const sn_plan& p = bp.plan;
    const int d = p.head_dim;
    const int k0 = blockIdx.x * T, hk = blockIdx.y, b = blockIdx.z;
    if (k0 >= p.key_length) return;
    const int kb = k0 / p.block_size;
    const int sub = p.block_size / T; // query tiles per query block

    SNC_DYNAMIC_SHARED(float4, smem_f4);
    const BwdTiles s = carve_tiles<T>(reinterpret_cast<float*>(smem_f4), d);
    load_key_tile<T, DTYPE>(bp, s, b, hk, k0, d); // visible to all after the first query tile's barriers

    float dk[EPT], dv[EPT];
#pragma unroll
    for (int e = 0; e < EPT; ++e) dk[e] = dv[e] = 0.0f;

    for (int h = hk * p.group; h < (hk + 1) * p.group; ++h) {
        const int list = h % p.num_layouts;
        const int32_t* column = bp.csc_offsets + static_cast<int64_t>(list) * (p.key_blocks + 1);
        const int32_t* rows_of = bp.csc_rows + p.list_base[list];
        for (int e0 = column[kb]; e0 < column[kb + 1]; ++e0) {
            const int qb = rows_of[e0];
            for (int st = 0; st < sub; ++st) {
                const int r0 = qb * p.block_size + st * T;
                if (r0 >= p.query_length) break;
                // Every key of the tile above the causal diagonal of every row: nothing to add.
                const int r_last = min(r0 + T, p.query_length) - 1;
                if (p.causal && k0 > r_last + p.causal_offset) continue;
                load_query_tile<T, DTYPE>(bp, s, b, h, r0, d);
                tile_p_ds<T>(p, s, r0, k0, d);
                __syncthreads();
#pragma unroll
                for (int e = 0; e < EPT; ++e) {
                    const int idx = threadIdx.x + e * kBwdThreads;
                    if (idx < T * d) {
                        const int j = idx / d, c = idx % d;
                        float sk = dk[e], sv = dv[e];
                        for (int i = 0; i < T; ++i) {
                            sv += s.Ps[i * (T + 1) + j] * s.dOs[i * bwd_pitch(d) + c];
                            sk += s.dSs[i * (T + 1) + j] * s.Qs[i * bwd_pitch(d) + c];
                        }
                        dk[e] = sk;
                        dv[e] = sv;
                    }
                }
                __syncthreads(); // Q, dO, P, dS are free for the next query tile
            }
        }
    }

    const int64_t head = kv_offset(p, b, hk, 0);
#pragma unroll
    for (int e = 0; e < EPT; ++e) {
        const int idx = threadIdx.x + e * kBwdThreads;
        const int j = idx / d, c = idx % d;
        if (idx < T * d && k0 + j < p.key_length) {
            const int64_t at = head + (k0 + j) * p.kv_token_stride + c;
            store_elem<DTYPE>(bp.dk, at, p.scale * dk[e]);
            store_elem<DTYPE>(bp.dv, at, dv[e]);
        }
    }
}

template <int T, int DMAX, int DTYPE>
cudaError_t launch_backward(const snc_backward_plan& bp, cudaStream_t stream)
{
    const sn_plan& p = bp.plan;
    const int bytes = static_cast<int>(bwd_shared_bytes<T>(p.head_dim));
    auto dq_kernel = attention_bwd_dq<T, DMAX, DTYPE>;
    auto dkv_kernel = attention_bwd_dkv<T, DMAX, DTYPE>;
    cudaError_t e = cudaFuncSetAttribute(dq_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
    if (e == cudaSuccess) e = cudaFuncSetAttribute(dkv_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
    if (e != cudaSuccess) return e;
    const unsigned tiles_per_block = static_cast<unsigned>(p.block_size / T);
    const dim3 dq_grid(static_cast<unsigned>(p.query_blocks) * tiles_per_block, static_cast<unsigned>(p.query_heads),
                       static_cast<unsigned>(p.batch));
    SNC_LAUNCH(dq_kernel, dq_grid, kBwdThreads, static_cast<size_t>(bytes), stream, bp);
    e = cudaGetLastError();
    if (e != cudaSuccess) return e;
    const dim3 dkv_grid(static_cast<unsigned>(p.key_blocks) * tiles_per_block, static_cast<unsigned>(p.kv_heads),
                        static_cast<unsigned>(p.batch));
    SNC_LAUNCH(dkv_kernel, dkv_grid, kBwdThreads, static_cast<size_t>(bytes), stream, bp);
    return cudaGetLastError();
}

} // namespace

cudaError_t launch_attention_backward(const snc_backward_plan& bp, cudaStream_t stream)
{
    // Tile 32 (registers: 2 x 32 gradient elements per thread at d = 128); 16 for block size 16 and for
    // head_dim > 128 (the same register budget at d = 256). f16/bf16 calls have head_dim 64 or 128 and block
    // size 64 or 128 (snc_plan_call: the forward that produced out and lse has the same limits).
    const int d = bp.plan.head_dim;
    switch (bp.plan.dtype) {
    case SNC_DTYPE_F16:
        return d == 64 ? launch_backward<32, 64, SNC_DTYPE_F16>(bp, stream) : launch_backward<32, 128, SNC_DTYPE_F16>(bp, stream);
    case SNC_DTYPE_BF16:
        return d == 64 ? launch_backward<32, 64, SNC_DTYPE_BF16>(bp, stream) : launch_backward<32, 128, SNC_DTYPE_BF16>(bp, stream);
    default:
        break;
    }
    if (d > 128) return launch_backward<16, 256, SNC_DTYPE_F32>(bp, stream);
    if (bp.plan.block_size == 16)
        return d <= 64 ? launch_backward<16, 64, SNC_DTYPE_F32>(bp, stream) : launch_backward<16, 128, SNC_DTYPE_F32>(bp, stream);
    return d <= 64 ? launch_backward<32, 64, SNC_DTYPE_F32>(bp, stream) : launch_backward<32, 128, SNC_DTYPE_F32>(bp, stream);
}

} // namespace snc
