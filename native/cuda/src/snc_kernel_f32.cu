// The f32 kernel: fused block-sparse attention forward with SIMT FMA (no tensor cores: they have no
// full-precision f32 mode, and this path exists to match the CPU library to 1e-5).
//
// Mapping. One thread block (128 threads) per (query tile, query head, batch): grid (tiles, Hq, B). A query
// tile is BM = min(block_size, 64) rows (32 when head_dim > 128, to fit shared memory), so a 128-block is
// served by two thread blocks; key tiles have BN = BM keys. Thread tid has tx = tid % 16, ty = tid / 16:
//   - scores S = Q Kᵀ (BM x BN): rows ty + 8i (i < BM/8), columns tx + 16j (j < BN/16). Strided rather than
//     contiguous ownership keeps the 16 lanes of a row on 16 different K rows (bank-conflict free with the
//     float4 reads below) and makes the row reductions a 16-lane butterfly (__shfl_xor 8, 4, 2, 1): lanes
//     0-15 and 16-31 of a warp are different ty, i.e. different rows.
//   - output O (BM x d): the same rows, channels tx + 16c (c < DT): consecutive lanes touch consecutive
//     channels, so V reads from shared memory and O writes to global memory are contiguous.
// Shared memory: Q tile, K tile, V tile (row pitch d + 4 floats: 16-byte aligned rows for cp.async, and
// rows 4 banks apart so the two rows a warp reads do not collide), P tile (pitch BN + 1) and the key
// segment ids. K and V are separate so the V load of this tile overlaps the QKᵀ product and the K load of
// the next tile overlaps the PV product (two cp.async groups in flight).
// Softmax: online, in base 2 (scores pre-multiplied by scale·log2 e), the running max and a per-lane partial
// row sum in registers; the partial sums are reduced once at the end (the running max is uniform over the
// 16 lanes of a row, so the partial sums are all rescaled by the same factors).
#include "snc_device.cuh"
#include "snc_launch.h"

namespace snc {
namespace {

constexpr int kThreads = 128;

__host__ __device__ constexpr int f32_pitch(int d) { return d + 4; }

// Issues cp.async copies of `rows` tokens (from token t0) of one head into a [rows][pitch] tile.
__device__ __forceinline__ void load_tile_f32(float* tile, const float* head_base, int64_t token_stride, int t0,
                                              int rows, int length, int d)
{
    const int chunks_per_row = d / 4;
    for (int idx = threadIdx.x; idx < rows * chunks_per_row; idx += kThreads) {
        const int r = idx / chunks_per_row, c = (idx % chunks_per_row) * 4;
        const bool valid = t0 + r < length;
        const float* src = valid ? head_base + (t0 + r) * token_stride + c : head_base;
        cp_async16(tile + r * f32_pitch(d) + c, src, valid);
    }
}

template <int BM, int DT, int DFIXED>
__global__ void __launch_bounds__(kThreads) attention_f32(const sn_plan p)
{
    constexpr int BN = BM, TM = BM / 8, TN = BN / 16;
    const int d = DFIXED != 0 ? DFIXED : p.head_dim;
    const int pitch = f32_pitch(d);
    const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
    const int q0 = blockIdx.x * BM, h = blockIdx.y, b = blockIdx.z;
    const int hk = h / p.group;
    if (q0 >= p.query_length) return; // the tail half of a last 128-block: nothing to write (uniform per block)

    SNC_DYNAMIC_SHARED(float4, smem_f4);
    float* Qs = reinterpret_cast<float*>(smem_f4);
    float* Ks = Qs + BM * pitch;
    float* Vs = Ks + BN * pitch;
    float* Ps = Vs + BN * pitch;                              // [BM][BN + 1]
    int* segK = reinterpret_cast<int*>(Ps + BM * (BN + 1)); // [BN]

    const float* qh = static_cast<const float*>(p.q) + q_offset(p, b, h, 0);
    const float* kh = static_cast<const float*>(p.k) + kv_offset(p, b, hk, 0);
    const float* vh = static_cast<const float*>(p.v) + kv_offset(p, b, hk, 0);
    const TileList tiles = make_tile_list(p, h, q0, BM, BN);

    int qseg[TM];
#pragma unroll
    for (int i = 0; i < TM; ++i) {
        const int row = q0 + ty + 8 * i;
        qseg[i] = (p.query_segment_ids != nullptr && row < p.query_length)
                      ? p.query_segment_ids[static_cast<int64_t>(b) * p.query_length + row] : 0;
    }

    float m[TM], l[TM], acc[TM][DT];
#pragma unroll
    for (int i = 0; i < TM; ++i) {
        m[i] = -INFINITY;
        l[i] = 0.0f;
#pragma unroll
        for (int c = 0; c < DT; ++c) acc[i][c] = 0.0f;
    }

    if (tiles.count > 0) {
        load_tile_f32(Qs, qh, p.q_token_stride, q0, BM, p.query_length, d);
        load_tile_f32(Ks, kh, p.kv_token_stride, tiles.key_start(p, 0), BN, p.key_length, d);
        cp_async_commit(); // group: Q + K(0)
    }

    for (int t = 0; t < tiles.count; ++t) {
        const int k0 = tiles.key_start(p, t);
        // V(t) streams in while S = Q K(t)ᵀ is computed.
        load_tile_f32(Vs, vh, p.kv_token_stride, k0, BN, p.key_length, d);
        cp_async_commit();
        if (p.query_segment_ids != nullptr && threadIdx.x < BN) {
            const int key = k0 + threadIdx.x;
            segK[threadIdx.x] = key < p.key_length ? p.key_segment_ids[static_cast<int64_t>(b) * p.key_length + key] : 0;
        }
        cp_async_wait<1>(); // Q and K(t) have landed (V(t) may still be in flight)
        __syncthreads();

        float s[TM][TN];
#pragma unroll
        for (int i = 0; i < TM; ++i)
#pragma unroll
            for (int j = 0; j < TN; ++j) s[i][j] = 0.0f;
        for (int c = 0; c < d; c += 4) {
            float4 qv[TM], kv[TN];
#pragma unroll
            for (int i = 0; i < TM; ++i) qv[i] = *reinterpret_cast<const float4*>(Qs + (ty + 8 * i) * pitch + c);
#pragma unroll
            for (int j = 0; j < TN; ++j) kv[j] = *reinterpret_cast<const float4*>(Ks + (tx + 16 * j) * pitch + c);
#pragma unroll
            for (int i = 0; i < TM; ++i)
#pragma unroll
                for (int j = 0; j < TN; ++j)
                    s[i][j] += qv[i].x * kv[j].x + qv[i].y * kv[j].y + qv[i].z * kv[j].z + qv[i].w * kv[j].w;
        }

        const bool masked = tile_needs_mask(p, q0, k0, BN);
#pragma unroll
        for (int i = 0; i < TM; ++i) {
            const int row = q0 + ty + 8 * i;
            float row_max = -INFINITY;
#pragma unroll
            for (int j = 0; j < TN; ++j) {
                const int col = tx + 16 * j;
                s[i][j] *= p.scale_log2;
                if (masked && !token_allowed(p, row, k0 + col, qseg[i], p.query_segment_ids != nullptr ? segK[col] : 0))
                    s[i][j] = -INFINITY;
                row_max = fmaxf(row_max, s[i][j]);
            }
#pragma unroll
            for (int off = 8; off > 0; off >>= 1) row_max = fmaxf(row_max, __shfl_xor_sync(0xffffffffu, row_max, off));
            const float m_new = fmaxf(m[i], row_max);
            const float ref = softmax_ref(m_new);
            const float alpha = exp2f(m[i] - ref);
            float sum = 0.0f;
#pragma unroll
            for (int j = 0; j < TN; ++j) {
                const float e = exp2f(s[i][j] - ref);
                sum += e;
                Ps[(ty + 8 * i) * (BN + 1) + tx + 16 * j] = e;
            }
            l[i] = l[i] * alpha + sum;
            m[i] = m_new;
#pragma unroll
            for (int c = 0; c < DT; ++c) acc[i][c] *= alpha;
        }
        __syncthreads(); // P complete; every warp is done reading K(t)

        if (t + 1 < tiles.count) {
            // K(t+1) streams in while O += P V(t) is computed.
            load_tile_f32(Ks, kh, p.kv_token_stride, tiles.key_start(p, t + 1), BN, p.key_length, d);
            cp_async_commit();
            cp_async_wait<1>(); // V(t) has landed
        } else {
            cp_async_wait<0>();
        }
        __syncthreads();

        for (int n = 0; n < BN; ++n) {
            float pv[TM];
#pragma unroll
            for (int i = 0; i < TM; ++i) pv[i] = Ps[(ty + 8 * i) * (BN + 1) + n];
#pragma unroll
            for (int c = 0; c < DT; ++c) {
                const int ch = tx + 16 * c;
                if (DFIXED == 0 && ch >= d) break;
                const float vv = Vs[n * pitch + ch];
#pragma unroll
                for (int i = 0; i < TM; ++i) acc[i][c] += pv[i] * vv;
            }
        }
        __syncthreads(); // V(t), P and segK are free for the next tile
    }

    float* out = static_cast<float*>(p.out) + q_offset(p, b, h, 0);
#pragma unroll
    for (int i = 0; i < TM; ++i) {
        float total = l[i];
#pragma unroll
        for (int off = 8; off > 0; off >>= 1) total += __shfl_xor_sync(0xffffffffu, total, off);
        const int row = q0 + ty + 8 * i;
        if (row >= p.query_length) continue;
        // A row with no allowed key has total == 0 (any allowed key contributes exp2(0) = 1 at the max).
        const float inv = total > 0.0f ? 1.0f / total : 0.0f;
#pragma unroll
        for (int c = 0; c < DT; ++c) {
            const int ch = tx + 16 * c;
            if (ch < d) out[row * p.q_token_stride + ch] = acc[i][c] * inv;
        }
        if (p.lse != nullptr && tx == 0)
            p.lse[(static_cast<int64_t>(b) * p.query_heads + h) * p.query_length + row] =
                total > 0.0f ? (m[i] + log2f(total)) * 0.69314718055994530942f : -INFINITY;
    }
}

template <int BM, int DT, int DFIXED>
cudaError_t launch(const sn_plan& p, cudaStream_t stream)
{
    const int d = p.head_dim;
    const size_t bytes = sizeof(float) * (3u * BM * f32_pitch(d) + BM * (BM + 1)) + sizeof(int) * BM;
    auto kernel = attention_f32<BM, DT, DFIXED>;
    cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes));
    if (e != cudaSuccess) return e;
    const dim3 grid(static_cast<unsigned>(p.query_blocks * (p.block_size / BM)), static_cast<unsigned>(p.query_heads),
                    static_cast<unsigned>(p.batch));
    SNC_LAUNCH(kernel, grid, kThreads, bytes, stream, p);
    return cudaGetLastError();
}

template <int BM>
cudaError_t launch_for_dim(const sn_plan& p, cudaStream_t stream)
{
    switch (p.head_dim) {
    case 64: return launch<BM, 4, 64>(p, stream);
    case 128: return launch<BM, 8, 128>(p, stream);
    default: return p.head_dim <= 64 ? launch<BM, 4, 0>(p, stream) : launch<BM, 8, 0>(p, stream);
    }
}

} // namespace

cudaError_t launch_attention_f32(const sn_plan& p, cudaStream_t stream)
{
    // Tile edge: the block size, capped at 64 (registers) and at 32 when head_dim > 128 (shared memory:
    // 3 x 64 x 260 floats would pass the 163 KiB an sm_80 block may use).
    if (p.head_dim > 128) {
        if (p.block_size == 16) return launch<16, 16, 0>(p, stream);
        return launch<32, 16, 0>(p, stream);
    }
    switch (p.block_size) {
    case 16: return launch_for_dim<16>(p, stream);
    case 32: return launch_for_dim<32>(p, stream);
    default: return launch_for_dim<64>(p, stream);
    }
}

} // namespace snc
