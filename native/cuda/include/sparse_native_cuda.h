/*
 * sparse_native_cuda.h - the C ABI of the SparseNative CUDA library (libsparsenative_cuda).
 *
 * What is computed is docs/SEMANTICS.md, exactly as for the CPU library; the problem and layout
 * descriptions (sn_problem, sn_layout) and the status codes (sn_status, SN_*) are those of
 * sparse_native.h, so a caller fills the same structs for both libraries.
 *
 * ABI rules are those of sparse_native.h: C, blittable arguments, int32_t codes, thread-local last
 * error. Every entry point that returns sn_status sets the message read by snc_last_error() on failure
 * (naming the argument and the value, or the CUDA call and cudaGetErrorString) and clears it on success.
 *
 * The library links the CUDA runtime statically: at run time it needs only the NVIDIA driver
 * (libcuda.so.1). Without a driver or a device, snc_device_count() reports 0 devices and SN_OK.
 *
 * Pointers: "device" pointers are CUDA device (or managed) memory on the current device of the calling
 * thread; "host" pointers are ordinary memory. Every device entry point takes a stream (a cudaStream_t
 * passed as void*, NULL = the legacy default stream) and is asynchronous with respect to the host
 * unless it says otherwise.
 */
#ifndef SPARSE_NATIVE_CUDA_H
#define SPARSE_NATIVE_CUDA_H

#include <stddef.h>
#include <stdint.h>

#include "sparse_native.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Version of this binary interface. Callers compare snc_abi_version() with the value they compiled with. */
/* 2: sn_problem.scale is always used as given (1 read 0 as "1/sqrt(head_dim)").
 * 3: snc_attention_backward, snc_attention_backward_host.
 * 4: sn_problem gained q_dtype, k_dtype, v_dtype, out_dtype (SN_ABI_VERSION 4); this library takes its element type
 *    from its dtype argument and requires the four to be 0 (SN_UNSUPPORTED otherwise). */
#define SNC_ABI_VERSION 4

/* A status beyond sparse_native.h's: a CUDA runtime call failed (no driver, device lost, launch failure,
 * an error raised by an earlier asynchronous kernel). The message names the call and CUDA's error name and
 * text. Allocation failures are SN_OUT_OF_MEMORY instead. */
#define SNC_CUDA_ERROR 100

/* Element types of q, k, v and out (lse is always float32). */
enum snc_dtype {
    SNC_DTYPE_F32 = 0,  /* float32 in and out; SIMT FMA kernel                                          */
    SNC_DTYPE_F16 = 1,  /* IEEE binary16 in and out, float32 accumulation on tensor cores (sm_80+)      */
    SNC_DTYPE_BF16 = 2  /* bfloat16 in and out, float32 accumulation on tensor cores (sm_80+)            */
};

/* An uploaded layout (opaque): the CSR lists in device memory, validated once, reusable by any number
 * of calls (and streams) on the device it was created on, until snc_layout_destroy. */
typedef struct snc_layout snc_layout;

/* ---------------------------------------------------------------------------------------------------
 * Library and device information
 * ------------------------------------------------------------------------------------------------- */

SN_API int32_t snc_abi_version(void);

/* sn_struct_layout() for the sn_layout and sn_problem this library was compiled with (same contract). */
SN_API int32_t snc_struct_layout(int32_t which, int32_t* size, int32_t* offsets, int32_t max_offsets);

/* The message of the last failed call on this thread ("" after a success). Never NULL. */
SN_API const char* snc_last_error(void);

/* One line: library version, ABI, the CUDA runtime it was built with, the architectures compiled in. */
SN_API const char* snc_build_info(void);

/* Number of CUDA devices. No driver, or a driver without devices, gives *count = 0 and SN_OK (the
 * message then says why, e.g. "cudaGetDeviceCount: no CUDA-capable device is detected"). */
SN_API sn_status snc_device_count(int32_t* count);

/* The name and compute capability of device `device`, e.g. "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs)",
 * written NUL-terminated into name[0 .. capacity) (truncated if too long). */
SN_API sn_status snc_device_name(int32_t device, char* name, int32_t capacity);

/* ---------------------------------------------------------------------------------------------------
 * Device memory (for bindings that keep data on the GPU across calls)
 * ------------------------------------------------------------------------------------------------- */

/* Allocates `bytes` (> 0) of device memory on the current device (cudaMalloc: 256-byte aligned). */
SN_API sn_status snc_malloc(size_t bytes, void** device_ptr);

/* Frees memory from snc_malloc. NULL is allowed and does nothing. Synchronises like cudaFree. */
SN_API sn_status snc_free(void* device_ptr);

/* Copies `bytes` host -> device or device -> host on `stream`, then waits for the stream (these helpers are
 * synchronous, so the host buffer may be reused as soon as they return). */
SN_API sn_status snc_copy_to_device(void* device_dst, const void* host_src, size_t bytes, void* stream);
SN_API sn_status snc_copy_to_host(void* host_dst, const void* device_src, size_t bytes, void* stream);

/* Waits until all work on `stream` is done; reports an asynchronous kernel error if one happened. */
SN_API sn_status snc_synchronize(void* stream);

/* ---------------------------------------------------------------------------------------------------
 * Layouts
 * ------------------------------------------------------------------------------------------------- */

/* Validates `layout` (host arrays; the rules of sparse_native.h except the block counts, which are
 * checked against each problem) and uploads it to the current device. Synchronous. */
SN_API sn_status snc_layout_create(const sn_layout* layout, snc_layout** out);

/* Frees an uploaded layout. NULL is allowed. The caller must make sure no kernel still uses it. */
SN_API sn_status snc_layout_destroy(snc_layout* layout);

/* ---------------------------------------------------------------------------------------------------
 * Computation
 * ------------------------------------------------------------------------------------------------- */

/* Block-sparse attention forward on device memory (docs/SEMANTICS.md).
 *  problem      as for sn_attention_forward. num_threads is ignored (it must still be >= 0).
 *               query_segment_ids / key_segment_ids, when given, are DEVICE pointers.
 *  layout       from snc_layout_create; its block counts must match the problem's lengths.
 *  dtype        an snc_dtype. F32: head_dim any multiple of 8 up to 256, block sizes 16..128.
 *               F16/BF16: head_dim 64 or 128 and block size 64 or 128 (else SN_UNSUPPORTED).
 *  q, k, v, out device pointers of dtype, shaped as for sn_attention_forward, 16-byte aligned; out
 *               must not overlap q, k, v or lse (the sizes are known from the problem).
 *  lse          NULL or a device float [B, Hq, Lq].
 *  stream       a cudaStream_t, or NULL.
 * Asynchronous: returns after the launch. Launch errors are reported here; errors during execution
 * appear at the next synchronising call (snc_synchronize). The NaN/infinity scan of the CPU library is
 * not done on device data: results for non-finite input are unspecified (as with
 * SN_FLAG_ALLOW_NON_FINITE). */
SN_API sn_status snc_attention_forward_device(const sn_problem* problem, const snc_layout* layout, int32_t dtype,
                                              const void* q, const void* k, const void* v, void* out,
                                              float* lse, void* stream);

/* The same on HOST memory, for convenience: validates exactly like sn_attention_forward (lengths in
 * elements of dtype, NaN/infinity scan of q, k, v unless SN_FLAG_ALLOW_NON_FINITE), uploads `layout`
 * (host sn_layout) and the host segment ids, copies q, k, v to the device, runs the kernel, copies out
 * and lse back and frees its temporary device memory. Synchronous. Every call pays the transfers and
 * allocations: keep data on the device with snc_attention_forward_device when that matters. */
SN_API sn_status snc_attention_forward_host(const sn_problem* problem, const sn_layout* layout, int32_t dtype,
                                            const void* q, size_t q_len,
                                            const void* k, size_t k_len,
                                            const void* v, size_t v_len,
                                            void* out, size_t out_len,
                                            float* lse, size_t lse_len);

/* Block-sparse attention backward on device memory (docs/SEMANTICS.md, "Backward pass"; the contract of
 * sn_attention_backward): from the forward's inputs q, k, v, its output out and lse, and dout (the gradient
 * of the loss w.r.t. out), writes dq, dk, dv (shaped as q, k, v; GQA sums dk and dv over each kv head's
 * query group). Rows with no allowed key contribute nothing, and every element of dq, dk, dv is written.
 *  problem, layout  as for snc_attention_forward_device (the same uploaded layout serves both).
 *  dtype            the forward's: SNC_DTYPE_F32 (head_dim any multiple of 8 up to 256, block sizes 16..128),
 *                   SNC_DTYPE_F16 or SNC_DTYPE_BF16 (head_dim 64 or 128, block size 64 or 128; else
 *                   SN_UNSUPPORTED): q, k, v, out, dout read in that type and widened exactly to f32, all
 *                   arithmetic in f32 (SIMT, not tensor cores), dq, dk, dv rounded to it once (nearest even).
 *  q, k, v, out, dout, dq, dk, dv  device pointers of dtype, 16-byte aligned; lse a device float [B, Hq, Lq]
 *                   (required). No gradient may overlap an input or another gradient.
 * Deterministic: no atomics, every gradient element is summed in one fixed order, so repeated calls give
 * bitwise identical results. Asynchronous like the forward (two kernels queued on `stream`); no
 * NaN/infinity scan of device data. The first backward call on a layout builds its transpose (CSC; read back,
 * built on the host, uploaded: synchronous, once per handle, safe from concurrent calls), which a forward-only
 * handle never pays for; its size follows the problem (num_layouts x (key_blocks + 1) offsets). */
SN_API sn_status snc_attention_backward(const sn_problem* problem, const snc_layout* layout, int32_t dtype,
                                        const void* q, const void* k, const void* v, const void* out,
                                        const float* lse, const void* dout, void* dq, void* dk, void* dv,
                                        void* stream);

/* The same on HOST memory: validates exactly like sn_attention_backward (lengths in elements, the data scan
 * of q, k, v, out, dout and lse unless SN_FLAG_ALLOW_NON_FINITE), uploads `layout` (host sn_layout) with its
 * transpose and the host segment ids, copies the inputs to the device, runs the kernels, copies dq, dk, dv
 * back and frees its temporary device memory. Synchronous. */
SN_API sn_status snc_attention_backward_host(const sn_problem* problem, const sn_layout* layout, int32_t dtype,
                                             const void* q, size_t q_len,
                                             const void* k, size_t k_len,
                                             const void* v, size_t v_len,
                                             const void* out, size_t out_len,
                                             const float* lse, size_t lse_len,
                                             const void* dout, size_t dout_len,
                                             void* dq, size_t dq_len,
                                             void* dk, size_t dk_len,
                                             void* dv, size_t dv_len);

#ifdef __cplusplus
}
#endif

#endif /* SPARSE_NATIVE_CUDA_H */
