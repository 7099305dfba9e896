// Internal: device helpers shared by the f32 (SIMT) and f16/bf16 (tensor-core) kernels: the per-call
// geometry of one query tile (which CSR list, which key tiles), the token mask of SEMANTICS.md, and the
// cp.async primitives used to stage K/V tiles in shared memory.
#ifndef SNC_DEVICE_CUH
#define SNC_DEVICE_CUH

#include <stdint.h>

#include "sn_plan.h"
#include "sparse_native_cuda.h"

#ifndef INFINITY
#define INFINITY __builtin_inff()
#endif

// Dynamic shared memory and kernel launches go through macros so that the CPU emulation test
// (native/cuda/emu/) can run the very same kernel source with std::thread blocks.
#ifndef SNC_EMULATION
#define SNC_DYNAMIC_SHARED(T, name) extern __shared__ T name[]
#define SNC_LAUNCH(kernel, grid, block, bytes, stream, ...) kernel<<<(grid), (block), (bytes), (stream)>>>(__VA_ARGS__)
#endif

namespace snc {

// ----- 16-bit storage (f16, bf16): widened exactly to f32 on load, rounded to nearest even once on store.
#ifdef SNC_EMULATION
template <int DTYPE>
__device__ __forceinline__ float widen16(uint16_t bits) { return snc_emu::to_float(DTYPE, bits); }
template <int DTYPE>
__device__ __forceinline__ uint16_t narrow16(float x) { return snc_emu::from_float(DTYPE, x); }
#else
template <int DTYPE>
__device__ __forceinline__ float widen16(uint16_t bits)
{
    float f;
    if (DTYPE == SNC_DTYPE_F16) asm("cvt.f32.f16 %0, %1;\n" : "=f"(f) : "h"(bits));
    else asm("mov.b32 %0, %1;\n" : "=f"(f) : "r"(static_cast<uint32_t>(bits) << 16)); // bf16: the high half of f32
    return f;
}
template <int DTYPE>
__device__ __forceinline__ uint16_t narrow16(float x)
{
    uint16_t bits;
    if (DTYPE == SNC_DTYPE_F16) asm("cvt.rn.f16.f32 %0, %1;\n" : "=h"(bits) : "f"(x));
    else asm("cvt.rn.bf16.f32 %0, %1;\n" : "=h"(bits) : "f"(x));
    return bits;
}
#endif

#ifndef SNC_EMULATION
// ----- cp.async (sm_80+): 16-byte global -> shared copies that bypass registers, so the next K/V tile
// can be in flight while the current one is being multiplied. `valid == false` copies 0 source bytes,
// which zero-fills the 16 destination bytes: the tails past Lq/Lk become zeros without a branch in the
// arithmetic. The source address must still be a valid pointer, so callers pass the tensor base then.
__device__ __forceinline__ void cp_async16(void* smem, const void* gmem, bool valid)
{
    const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem));
    const int src_bytes = valid ? 16 : 0;
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(gmem), "r"(src_bytes));
}

__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }

template <int Pending>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(Pending)); }

#endif // SNC_EMULATION (native/cuda/emu/snc_emu.h provides these for the CPU emulation test)

// ----- The key tiles one query tile visits. A key block of the CSR row is cut into block_size / TileN
// sub-tiles of TileN keys; tile t is sub-tile (t % sub) of the block col_indices[begin + t / sub].
struct TileList {
    const int32_t* cols; // the CSR row: cols[0 .. blocks)
    int count;           // number of key tiles to visit (trailing tiles that are wholly masked are dropped)
    int sub;             // sub-tiles per key block
    int tile_n;

    __device__ __forceinline__ int key_start(const sn_plan& p, int t) const
    {
        return cols[t / sub] * p.block_size + (t % sub) * tile_n;
    }
};

// Builds the tile list of query tile [q0, q0 + tile_m) of head h. Columns are strictly increasing, so the
// key start of the tiles increases with t and the tiles that are wholly past Lk or wholly above the causal
// diagonal are exactly a suffix: they are dropped here, once, instead of being tested in the main loop.
__device__ __forceinline__ TileList make_tile_list(const sn_plan& p, int h, int q0, int tile_m, int tile_n)
{
    const int list = h % p.num_layouts;
    const int qblock = q0 / p.block_size;
    const int32_t* offsets = p.row_offsets + static_cast<int64_t>(list) * (p.query_blocks + 1);
    TileList tl;
    tl.cols = p.col_indices + p.list_base[list] + offsets[qblock];
    tl.sub = p.block_size / tile_n;
    tl.tile_n = tile_n;
    tl.count = (offsets[qblock + 1] - offsets[qblock]) * tl.sub;
    const int q_last = min(q0 + tile_m, p.query_length) - 1;
    while (tl.count > 0) {
        const int k0 = tl.key_start(p, tl.count - 1);
        const bool past_end = k0 >= p.key_length;
        const bool above_diagonal = p.causal && k0 > q_last + p.causal_offset;
        if (!past_end && !above_diagonal) break;
        --tl.count;
    }
    return tl;
}

// Whether a key tile needs the per-element mask: it crosses Lk, crosses the causal diagonal for some row
// of the query tile, or segment ids are in use. Most tiles of a long sequence need none.
__device__ __forceinline__ bool tile_needs_mask(const sn_plan& p, int q0, int k0, int tile_n)
{
    if (k0 + tile_n > p.key_length) return true;
    if (p.causal && k0 + tile_n - 1 > q0 + p.causal_offset) return true;
    return p.query_segment_ids != nullptr;
}

// SEMANTICS.md "Which pairs attend", minus the block test (the tile came from the CSR list). `qseg` is the
// query's segment id and `kseg` the key's (both ignored without segment ids).
__device__ __forceinline__ bool token_allowed(const sn_plan& p, int i, int j, int qseg, int kseg)
{
    if (j >= p.key_length) return false;
    if (p.causal && j > i + p.causal_offset) return false;
    if (p.query_segment_ids != nullptr && qseg != kseg) return false;
    return true;
}

// Element offset of token t of head h of batch b in q/out or k/v.
__device__ __forceinline__ int64_t q_offset(const sn_plan& p, int b, int h, int t)
{
    return b * p.q_batch_stride + h * p.q_head_stride + t * p.q_token_stride;
}
__device__ __forceinline__ int64_t kv_offset(const sn_plan& p, int b, int h, int t)
{
    return b * p.kv_batch_stride + h * p.kv_head_stride + t * p.kv_token_stride;
}

// Base-2 online-softmax helper: the exponent reference for a running maximum that may still be -inf
// (no allowed key seen yet). Using 0 then keeps exp2(-inf - ref) = 0 instead of NaN.
__device__ __forceinline__ float softmax_ref(float running_max) { return running_max == -INFINITY ? 0.0f : running_max; }

} // namespace snc

#endif
