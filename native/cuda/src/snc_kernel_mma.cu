// The f16/bf16 kernel: fused block-sparse attention forward on tensor cores (mma.sync m16n8k16, f32
// accumulation), FlashAttention-2 style.
//
// Mapping. One thread block per (query tile, query head, batch): grid (tiles, Hq, B). The query tile is the
// block (8 warps for 128, 4 warps for 64), 16 rows per warp. Warp w owns query rows 16w .. 16w+15 of the tile for the whole
// computation, so the softmax statistics of a row never leave the warp: the mma fragment layout gives
// lane (g = lane / 4, c = lane % 4) rows g and g + 8 and, in each 8-column tile, columns 2c and 2c + 1.
// Row reductions are therefore over the 4 lanes of a quad (__shfl_xor 1, 2).
//   - Q (16 x D per warp) is read once from shared memory into A fragments held in registers for all
//     key tiles (D/16 fragments of 4 registers).
//   - S = Q Kᵀ, 16 x 64 per warp: 8 accumulator tiles m16n8. The B operand (Kᵀ, "col" layout) of an m16n8k16
//     is, per lane, K[n0 + g][k0 + 2c .. 2c+1] and K[n0 + g][k0 + 8 + 2c .. +1]: two 32-bit shared loads of a
//     K row, no transpose needed.
//   - P = exp2(S - m): the accumulator layout of two neighbouring m16n8 tiles is exactly the A-fragment
//     layout of one m16k16 operand, so P goes from registers to the PV mma without shared memory (rounded to
//     the input type; the row sums are kept in f32 before rounding).
//   - O += P V, 16 x D per warp: the B operand needs V[k0 + 2c .. 2c+1][n0 + g] (a column pair of V), which
//     ldmatrix.trans delivers from the row-major V tile (x4: two n8 tiles per instruction).
// Shared memory: Q tile and a double buffer of K and V tiles (64 x D each, row pitch D + 8 elements: 16-byte
// aligned rows for cp.async and ldmatrix, and rows 4 banks apart so the 8 rows a quad-group reads hit 8
// different bank groups). Tile t+1 is fetched with cp.async while tile t is computed.
#include <stdlib.h>
#include <string.h>

#include "snc_device.cuh"
#include "snc_launch.h"
#include "sparse_native_cuda.h"

namespace snc {
namespace {

// Key tiles are 64 keys. The query tile is 16 rows per warp: WARPS = 8 (128 rows) serves a 128-block with one
// thread block, so each K/V tile is read from global memory once per 128 queries; WARPS = 4 (64 rows) serves
// a 64-block. SNC_MMA_TILE_M=64 in the environment forces the 4-warp kernel for 128-blocks too (two thread
// blocks per query block), a tuning switch for the benchmark.
constexpr int BN = 64;

__host__ __device__ constexpr int mma_pitch(int d) { return d + 8; } // in 16-bit elements

#ifdef SNC_EMULATION
template <int DTYPE>
__device__ __forceinline__ uint32_t pack2(float lo, float hi) { return snc_emu::pack2(DTYPE, lo, hi); }
template <int DTYPE>
__device__ __forceinline__ void mma16816(float (&acc)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1)
{
    snc_emu::mma16816(DTYPE, acc, a, b0, b1);
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&b)[4], const uint16_t* row) { snc_emu::ldmatrix_x4_trans(b, row); }
#else
// Packs two f32 into the 16-bit input type, `lo` in the low half (the lower column index).
template <int DTYPE>
__device__ __forceinline__ uint32_t pack2(float lo, float hi)
{
    uint32_t r;
    if (DTYPE == SNC_DTYPE_F16)
        asm("cvt.rn.f16x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(hi), "f"(lo)); // d = {hi : a, lo : b}
    else
        asm("cvt.rn.bf16x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
}

// acc (16x8, f32) += a (16x16) * b (16x8).
template <int DTYPE>
__device__ __forceinline__ void mma16816(float (&acc)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1)
{
    if (DTYPE == SNC_DTYPE_F16)
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
                     "{%8, %9}, {%0, %1, %2, %3};\n"
                     : "+f"(acc[0]), "+f"(acc[1]), "+f"(acc[2]), "+f"(acc[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    else
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
                     "{%8, %9}, {%0, %1, %2, %3};\n"
                     : "+f"(acc[0]), "+f"(acc[1]), "+f"(acc[2]), "+f"(acc[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// ldmatrix .x4 .trans: lanes 8j .. 8j+7 give the row addresses of 8x8 matrix j; lane (g, c) receives
// elements [2c][g] and [2c+1][g] of each matrix (lower column index in the low half).
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&b)[4], const uint16_t* row)
{
    const unsigned addr = static_cast<unsigned>(__cvta_generic_to_shared(row));
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(b[0]), "=r"(b[1]), "=r"(b[2]), "=r"(b[3])
                 : "r"(addr));
}
#endif // SNC_EMULATION

// B fragments of two neighbouring n8 tiles of V (columns n0 .. n0+15, keys k0 .. k0+15):
// b[0], b[1] for columns n0 .. n0+7 and b[2], b[3] for n0+8 .. n0+15.
__device__ __forceinline__ void load_v_fragments(uint32_t (&b)[4], const uint16_t* Vs, int pitch, int k0, int n0)
{
    const int lane = threadIdx.x % 32;
    // Lanes 0-7 address the rows of matrix 0 (keys k0..k0+7, columns n0..), 8-15 matrix 1 (keys k0+8..),
    // 16-23 matrix 2 (keys k0.., columns n0+8..), 24-31 matrix 3. .trans hands lane (g, c) the elements
    // [2c][g] and [2c+1][g] of each 8x8 matrix: the m16n8k16 B layout.
    ldmatrix_x4_trans(b, Vs + (k0 + (lane & 15)) * pitch + n0 + (lane >> 4) * 8);
}

// Issues cp.async copies of `rows` tokens from token t0 of one head into a [rows][pitch] 16-bit tile.
template <int D, int THREADS>
__device__ __forceinline__ void load_tile_16(uint16_t* tile, const uint16_t* head_base, int64_t token_stride, int t0,
                                             int rows, int length)
{
    constexpr int chunks_per_row = D / 8; // 8 elements = 16 bytes
    for (int idx = threadIdx.x; idx < rows * chunks_per_row; idx += THREADS) {
        const int r = idx / chunks_per_row, c = (idx % chunks_per_row) * 8;
        const bool valid = t0 + r < length;
        const uint16_t* src = valid ? head_base + (t0 + r) * token_stride + c : head_base;
        cp_async16(tile + r * mma_pitch(D) + c, src, valid);
    }
}

template <int DTYPE, int D, int WARPS>
__global__ void __launch_bounds__(32 * WARPS) attention_mma(const sn_plan p)
{
    constexpr int BM = 16 * WARPS, kThreads = 32 * WARPS;
    constexpr int pitch = mma_pitch(D), KC = D / 16, NT = BN / 8, ND = D / 8;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, c = lane % 4;
    const int q0 = blockIdx.x * BM, h = blockIdx.y, b = blockIdx.z;
    const int hk = h / p.group;
    if (q0 >= p.query_length) return; // the tail half of a last 128-block: nothing to write (uniform per block)

    SNC_DYNAMIC_SHARED(uint4, smem_u4);
    uint16_t* Qs = reinterpret_cast<uint16_t*>(smem_u4);
    uint16_t* Ks = Qs + BM * pitch;       // [2][BN][pitch]
    uint16_t* Vs = Ks + 2 * BN * pitch;   // [2][BN][pitch]
    int* segK = reinterpret_cast<int*>(Vs + 2 * BN * pitch); // [2][BN]

    const uint16_t* qh = static_cast<const uint16_t*>(p.q) + q_offset(p, b, h, 0);
    const uint16_t* kh = static_cast<const uint16_t*>(p.k) + kv_offset(p, b, hk, 0);
    const uint16_t* vh = static_cast<const uint16_t*>(p.v) + kv_offset(p, b, hk, 0);
    const TileList tiles = make_tile_list(p, h, q0, BM, BN);

    // This lane's two rows (g and g + 8 of the warp's 16).
    const int row0 = q0 + 16 * warp + g;
    int qseg[2] = { 0, 0 };
    if (p.query_segment_ids != nullptr)
        for (int r = 0; r < 2; ++r)
            if (row0 + 8 * r < p.query_length)
                qseg[r] = p.query_segment_ids[static_cast<int64_t>(b) * p.query_length + row0 + 8 * r];

    auto issue_tile = [&](int t) {
        const int buf = t & 1, k0 = tiles.key_start(p, t);
        load_tile_16<D, kThreads>(Ks + buf * BN * pitch, kh, p.kv_token_stride, k0, BN, p.key_length);
        load_tile_16<D, kThreads>(Vs + buf * BN * pitch, vh, p.kv_token_stride, k0, BN, p.key_length);
        if (p.query_segment_ids != nullptr && threadIdx.x < BN) {
            const int key = k0 + threadIdx.x;
            segK[buf * BN + threadIdx.x] =
                key < p.key_length ? p.key_segment_ids[static_cast<int64_t>(b) * p.key_length + key] : 0;
        }
        cp_async_commit();
    };

    float m[2] = { -INFINITY, -INFINITY }, l[2] = { 0.0f, 0.0f };
    float o[ND][4];
#pragma unroll
    for (int nd = 0; nd < ND; ++nd)
#pragma unroll
        for (int e = 0; e < 4; ++e) o[nd][e] = 0.0f;
    uint32_t qa[KC][4];

    if (tiles.count > 0) {
        load_tile_16<D, kThreads>(Qs, qh, p.q_token_stride, q0, BM, p.query_length);
        issue_tile(0); // one group: Q + K(0) + V(0)
    }

    for (int t = 0; t < tiles.count; ++t) {
        const int buf = t & 1, k0 = tiles.key_start(p, t);
        if (t + 1 < tiles.count) {
            issue_tile(t + 1); // into the other buffer, freed by the __syncthreads at the end of tile t-1
            cp_async_wait<1>();
        } else {
            cp_async_wait<0>();
        }
        __syncthreads();

        if (t == 0) {
            const uint16_t* qw = Qs + (16 * warp) * pitch;
#pragma unroll
            for (int kc = 0; kc < KC; ++kc) {
                qa[kc][0] = *reinterpret_cast<const uint32_t*>(qw + g * pitch + 16 * kc + 2 * c);
                qa[kc][1] = *reinterpret_cast<const uint32_t*>(qw + (g + 8) * pitch + 16 * kc + 2 * c);
                qa[kc][2] = *reinterpret_cast<const uint32_t*>(qw + g * pitch + 16 * kc + 8 + 2 * c);
                qa[kc][3] = *reinterpret_cast<const uint32_t*>(qw + (g + 8) * pitch + 16 * kc + 8 + 2 * c);
            }
        }

        // S = Q Kᵀ for this warp's 16 rows and the tile's 64 keys.
        const uint16_t* Kt = Ks + buf * BN * pitch;
        float s[NT][4];
#pragma unroll
        for (int nt = 0; nt < NT; ++nt) {
#pragma unroll
            for (int e = 0; e < 4; ++e) s[nt][e] = 0.0f;
            const uint16_t* krow = Kt + (8 * nt + g) * pitch + 2 * c;
#pragma unroll
            for (int kc = 0; kc < KC; ++kc) {
                const uint32_t b0 = *reinterpret_cast<const uint32_t*>(krow + 16 * kc);
                const uint32_t b1 = *reinterpret_cast<const uint32_t*>(krow + 16 * kc + 8);
                mma16816<DTYPE>(s[nt], qa[kc], b0, b1);
            }
        }

        // Scale to base 2, mask, online softmax. Element e of tile nt is row g + 8 (e / 2), key 8 nt + 2c + e % 2.
        const bool masked = tile_needs_mask(p, q0, k0, BN);
        const int* segt = segK + buf * BN;
        float row_max[2] = { -INFINITY, -INFINITY };
#pragma unroll
        for (int nt = 0; nt < NT; ++nt)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const int r = e / 2, key = 8 * nt + 2 * c + (e % 2);
                float v = s[nt][e] * p.scale_log2;
                if (masked && !token_allowed(p, row0 + 8 * r, k0 + key, qseg[r],
                                             p.query_segment_ids != nullptr ? segt[key] : 0))
                    v = -INFINITY;
                s[nt][e] = v;
                row_max[r] = fmaxf(row_max[r], v);
            }
        float ref[2];
#pragma unroll
        for (int r = 0; r < 2; ++r) {
            row_max[r] = fmaxf(row_max[r], __shfl_xor_sync(0xffffffffu, row_max[r], 1));
            row_max[r] = fmaxf(row_max[r], __shfl_xor_sync(0xffffffffu, row_max[r], 2));
            const float m_new = fmaxf(m[r], row_max[r]);
            ref[r] = softmax_ref(m_new);
            const float alpha = exp2f(m[r] - ref[r]);
            m[r] = m_new;
            l[r] *= alpha;
#pragma unroll
            for (int nd = 0; nd < ND; ++nd) {
                o[nd][2 * r] *= alpha;
                o[nd][2 * r + 1] *= alpha;
            }
        }
#pragma unroll
        for (int nt = 0; nt < NT; ++nt)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                s[nt][e] = exp2f(s[nt][e] - ref[e / 2]);
                l[e / 2] += s[nt][e];
            }

        // O += P V: P's A fragments come straight from the accumulators of key tiles 2j and 2j+1.
        const uint16_t* Vt = Vs + buf * BN * pitch;
#pragma unroll
        for (int j = 0; j < BN / 16; ++j) {
            const uint32_t pa[4] = { pack2<DTYPE>(s[2 * j][0], s[2 * j][1]), pack2<DTYPE>(s[2 * j][2], s[2 * j][3]),
                                     pack2<DTYPE>(s[2 * j + 1][0], s[2 * j + 1][1]),
                                     pack2<DTYPE>(s[2 * j + 1][2], s[2 * j + 1][3]) };
#pragma unroll
            for (int nd = 0; nd < ND; nd += 2) {
                uint32_t vb[4];
                load_v_fragments(vb, Vt, pitch, 16 * j, 8 * nd);
                mma16816<DTYPE>(o[nd], pa, vb[0], vb[1]);
                mma16816<DTYPE>(o[nd + 1], pa, vb[2], vb[3]);
            }
        }
        __syncthreads(); // buffer `buf` may be refilled by the next iteration's prefetch
    }

    // Finish: full row sums over the quad, normalise, store as the input type, write the LSE.
    uint16_t* out = static_cast<uint16_t*>(p.out) + q_offset(p, b, h, 0);
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        float total = l[r];
        total += __shfl_xor_sync(0xffffffffu, total, 1);
        total += __shfl_xor_sync(0xffffffffu, total, 2);
        const int row = row0 + 8 * r;
        if (row >= p.query_length) continue;
        const float inv = total > 0.0f ? 1.0f / total : 0.0f; // no allowed key: 0 and -inf
        uint16_t* orow = out + row * p.q_token_stride + 2 * c;
#pragma unroll
        for (int nd = 0; nd < ND; ++nd)
            *reinterpret_cast<uint32_t*>(orow + 8 * nd) = pack2<DTYPE>(o[nd][2 * r] * inv, o[nd][2 * r + 1] * inv);
        if (p.lse != nullptr && c == 0)
            p.lse[(static_cast<int64_t>(b) * p.query_heads + h) * p.query_length + row] =
                total > 0.0f ? (m[r] + log2f(total)) * 0.69314718055994530942f : -INFINITY;
    }
}

template <int DTYPE, int D, int WARPS>
cudaError_t launch(const sn_plan& p, cudaStream_t stream)
{
    constexpr int BM = 16 * WARPS, kThreads = 32 * WARPS;
    const size_t bytes = sizeof(uint16_t) * (BM + 4 * BN) * mma_pitch(D) + sizeof(int) * 2 * BN;
    auto kernel = attention_mma<DTYPE, D, WARPS>;
    cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes));
    if (e != cudaSuccess) return e;
    const dim3 grid(static_cast<unsigned>(p.query_blocks * (p.block_size / BM)), static_cast<unsigned>(p.query_heads),
                    static_cast<unsigned>(p.batch));
    SNC_LAUNCH(kernel, grid, kThreads, bytes, stream, p);
    return cudaGetLastError();
}

} // namespace

template <int DTYPE, int D>
cudaError_t launch_for_block(const sn_plan& p, cudaStream_t stream)
{
    const char* tile = getenv("SNC_MMA_TILE_M");
    const bool force64 = tile != nullptr && strcmp(tile, "64") == 0;
    return p.block_size == 128 && !force64 ? launch<DTYPE, D, 8>(p, stream) : launch<DTYPE, D, 4>(p, stream);
}

template <int DTYPE>
cudaError_t launch_for_dim(const sn_plan& p, cudaStream_t stream)
{
    return p.head_dim == 64 ? launch_for_block<DTYPE, 64>(p, stream) : launch_for_block<DTYPE, 128>(p, stream);
}

cudaError_t launch_attention_mma(const sn_plan& p, cudaStream_t stream)
{
    // snc_plan_call admits only head dims 64/128 and block sizes 64/128 here.
    return p.dtype == SNC_DTYPE_F16 ? launch_for_dim<SNC_DTYPE_F16>(p, stream) : launch_for_dim<SNC_DTYPE_BF16>(p, stream);
}

} // namespace snc
