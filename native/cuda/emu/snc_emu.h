// CPU emulation of the CUDA features the kernels use, so that the kernel SOURCE (snc_kernel_f32.cu,
// snc_kernel_mma.cu, compiled as C++ with -DSNC_EMULATION and this header force-included) runs on a machine
// without a GPU: one std::thread per CUDA thread, a std::barrier per block for __syncthreads and for the
// warp-collective operations (__shfl_xor_sync, mma.sync, ldmatrix), cp.async copies queued per thread and
// performed at cp.async.wait_group (so a missing wait reads the NaN-filled shared memory), and mma.sync /
// ldmatrix / cvt computed from the fragment layouts of the PTX ISA.
//
// What this checks: the kernels' index arithmetic, tile lists, masking, online softmax, cp.async group
// accounting, and fragment bookkeeping, against the CPU library. What it cannot check: that nvcc/ptxas accept
// the code, the hardware's real fragment layout (it implements the documented one), memory-model races between
// warps beyond __syncthreads, and speed. Test-only; never part of the library.
#ifndef SNC_EMU_H
#define SNC_EMU_H

#include <algorithm>
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <thread>
#include <vector>

#include "half_convert.h"

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)

struct dim3 {
    unsigned x, y, z;
    constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
};
struct snc_emu_uint3 { unsigned x, y, z; };
struct alignas(16) float4 { float x, y, z, w; };
struct alignas(16) uint4 { unsigned x, y, z, w; };
struct alignas(8) uint2 { unsigned x, y; };
typedef struct CUstream_st* cudaStream_t;
enum cudaError_t : int { cudaSuccess = 0, cudaErrorInvalidValue = 1 }; // fixed type: the runtime header adds 2 and 100
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };
using std::min;

namespace snc_emu {

// The largest dynamic shared memory a block may opt into on sm_80 (A100): 163 KiB. sm_90 allows 227 KiB.
constexpr size_t kMaxSharedSm80 = 166912;

struct Block {
    explicit Block(unsigned threads, size_t bytes) : barrier(threads), smem(bytes + 16, 0xFF), threads(threads),
        fslot(threads), aslot(threads * 4), bslot(threads * 2), pslot(threads) {}
    std::barrier<> barrier;
    std::vector<unsigned char> smem; // 0xFF: NaN as f32, NaN as f16/bf16 -> reads of unwritten data show up
    unsigned threads;
    std::vector<float> fslot;
    std::vector<uint32_t> aslot, bslot;
    std::vector<const uint16_t*> pslot;
};

struct PendingCopy { void* dst; const void* src; bool valid; long group; };

inline thread_local snc_emu_uint3 tl_thread, tl_block;
inline thread_local Block* tl_blk;
inline thread_local std::vector<PendingCopy> tl_pending;
inline thread_local long tl_committed;
inline size_t g_max_shared_requested = 0;
inline long g_blocks_run = 0;

inline void sync() { tl_blk->barrier.arrive_and_wait(); }

inline void* dynamic_shared()
{
    // 16-byte aligned like CUDA's dynamic shared memory.
    auto p = reinterpret_cast<uintptr_t>(tl_blk->smem.data());
    return reinterpret_cast<void*>((p + 15) & ~uintptr_t(15));
}

inline void launch(dim3 grid, dim3 block, size_t bytes, const std::function<void()>& body)
{
    if (bytes > kMaxSharedSm80) {
        std::fprintf(stderr, "emulation: a launch asks for %zu bytes of shared memory, above sm_80's %zu\n", bytes, kMaxSharedSm80);
        std::abort();
    }
    g_max_shared_requested = std::max(g_max_shared_requested, bytes);
    for (unsigned bz = 0; bz < grid.z; ++bz)
        for (unsigned by = 0; by < grid.y; ++by)
            for (unsigned bx = 0; bx < grid.x; ++bx) {
                Block blk(block.x, bytes);
                std::vector<std::thread> threads;
                threads.reserve(block.x);
                for (unsigned t = 0; t < block.x; ++t)
                    threads.emplace_back([&, t] {
                        tl_thread = { t, 0, 0 };
                        tl_block = { bx, by, bz };
                        tl_blk = &blk;
                        tl_pending.clear();
                        tl_committed = 0;
                        body();
                    });
                for (auto& th : threads) th.join();
                ++g_blocks_run;
            }
}

inline float shfl_xor(float v, int lane_mask)
{
    const unsigned tid = tl_thread.x;
    tl_blk->fslot[tid] = v;
    sync();
    const float r = tl_blk->fslot[(tid & ~31u) | ((tid & 31u) ^ static_cast<unsigned>(lane_mask))];
    sync();
    return r;
}

// cp.async: queued; performed by cp.async.wait_group for every committed group but the newest `pending`.
inline void cp_async16(void* dst, const void* src, bool valid) { tl_pending.push_back({ dst, src, valid, -1 }); }
inline void cp_async_commit()
{
    for (auto& c : tl_pending)
        if (c.group < 0) c.group = tl_committed;
    ++tl_committed;
}
inline void cp_async_wait(int pending)
{
    std::vector<PendingCopy> keep;
    for (auto& c : tl_pending) {
        if (c.group >= 0 && c.group < tl_committed - pending) {
            if (c.valid) std::memcpy(c.dst, c.src, 16);
            else std::memset(c.dst, 0, 16);
        } else {
            keep.push_back(c);
        }
    }
    tl_pending.swap(keep);
}

inline float to_float(int dtype, uint16_t bits) { return dtype == 1 ? snc_f16_to_float(bits) : snc_bf16_to_float(bits); }
inline uint16_t from_float(int dtype, float x) { return dtype == 1 ? snc_float_to_f16(x) : snc_float_to_bf16(x); }

inline uint32_t pack2(int dtype, float lo, float hi)
{
    return static_cast<uint32_t>(from_float(dtype, lo)) | (static_cast<uint32_t>(from_float(dtype, hi)) << 16);
}

// mma.sync.aligned.m16n8k16.row.col.f32.{f16,bf16}: the fragment layouts of the PTX ISA, with
// g = lane / 4, c = lane % 4:  A element i: row g + 8 ((i / 2) % 2), column 2c + (i % 2) + 8 (i / 4);
// B element i: row 2c + (i % 2) + 8 (i / 2), column g;  C/D element i: row g + 8 (i / 2), column 2c + (i % 2).
// Element pairs (0,1), (2,3), ... share a 32-bit register, the even one in the low half.
inline void mma16816(int dtype, float (&acc)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1)
{
    Block& blk = *tl_blk;
    const unsigned tid = tl_thread.x, warp0 = tid & ~31u, lane = tid & 31u;
    for (int i = 0; i < 4; ++i) blk.aslot[tid * 4 + i] = a[i];
    blk.bslot[tid * 2] = b0;
    blk.bslot[tid * 2 + 1] = b1;
    sync();
    float A[16][16], B[16][8];
    for (unsigned l = 0; l < 32; ++l) {
        const unsigned g = l / 4, c = l % 4;
        for (int i = 0; i < 8; ++i) {
            const uint32_t reg = blk.aslot[(warp0 + l) * 4 + i / 2];
            A[g + 8 * ((i / 2) % 2)][2 * c + (i % 2) + 8 * (i / 4)] = to_float(dtype, static_cast<uint16_t>(reg >> (16 * (i % 2))));
        }
        for (int i = 0; i < 4; ++i) {
            const uint32_t reg = blk.bslot[(warp0 + l) * 2 + i / 2];
            B[2 * c + (i % 2) + 8 * (i / 2)][g] = to_float(dtype, static_cast<uint16_t>(reg >> (16 * (i % 2))));
        }
    }
    const unsigned g = lane / 4, c = lane % 4;
    for (int i = 0; i < 4; ++i) {
        const unsigned row = g + 8 * (i / 2), col = 2 * c + (i % 2);
        float sum = 0.0f;
        for (int k = 0; k < 16; ++k) sum += A[row][k] * B[k][col];
        acc[i] += sum;
    }
    sync();
}

// ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16: lanes 8j .. 8j+7 address the rows of matrix j; lane (g, c)
// receives M_j[2c][g] (low half) and M_j[2c+1][g] (high half) in register j.
inline void ldmatrix_x4_trans(uint32_t (&r)[4], const uint16_t* row)
{
    Block& blk = *tl_blk;
    const unsigned tid = tl_thread.x, warp0 = tid & ~31u, lane = tid & 31u;
    blk.pslot[tid] = row;
    sync();
    const unsigned g = lane / 4, c = lane % 4;
    for (unsigned j = 0; j < 4; ++j) {
        const uint16_t lo = blk.pslot[warp0 + 8 * j + 2 * c][g];
        const uint16_t hi = blk.pslot[warp0 + 8 * j + 2 * c + 1][g];
        r[j] = static_cast<uint32_t>(lo) | (static_cast<uint32_t>(hi) << 16);
    }
    sync();
}

} // namespace snc_emu

#define threadIdx (snc_emu::tl_thread)
#define blockIdx (snc_emu::tl_block)
inline void __syncthreads() { snc_emu::sync(); }
inline float __shfl_xor_sync(unsigned /*mask*/, float v, int lane_mask) { return snc_emu::shfl_xor(v, lane_mask); }
template <class F>
inline cudaError_t cudaFuncSetAttribute(F*, cudaFuncAttribute, int) { return cudaSuccess; }
inline cudaError_t cudaGetLastError() { return cudaSuccess; }

#define SNC_DYNAMIC_SHARED(T, name) T* name = static_cast<T*>(snc_emu::dynamic_shared())
#define SNC_LAUNCH(kernel, grid, block, bytes, stream, ...) \
    ((void)(stream), snc_emu::launch((grid), dim3(block), (bytes), [&] { kernel(__VA_ARGS__); }))

namespace snc {
inline void cp_async16(void* smem, const void* gmem, bool valid) { snc_emu::cp_async16(smem, gmem, valid); }
inline void cp_async_commit() { snc_emu::cp_async_commit(); }
template <int Pending>
inline void cp_async_wait() { snc_emu::cp_async_wait(Pending); }
} // namespace snc

#endif
