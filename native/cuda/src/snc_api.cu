// The exported C entry points of libsparsenative_cuda: argument checks (the shared sn_validate.h plus
// snc_validate.h), CUDA runtime calls with every error turned into a status and a message, and the kernel launch.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mutex>
#include <new>

#include "sn_struct_layout.h"
#include "sn_error.h"
#include "sn_layout_transpose.h"
#include "snc_launch.h"
#include "snc_validate.h"
#include "sparse_native_cuda.h"

#ifndef SNC_CUDA_ARCHS
#define SNC_CUDA_ARCHS "unknown"
#endif

// An uploaded layout: the host-side shape for validation, device copies of the CSR arrays and of the
// transpose (CSC) the backward's dk/dv kernel walks. A handle from snc_layout_create gets its transpose at its
// first backward call (ensure_transpose), not at upload: the transpose has key_blocks + 1 offsets per list, which
// only a problem that fits the layout bounds (a layout alone may declare 2^31 key blocks in a few bytes).
struct snc_layout {
    sn_layout_shape shape{};
    int device = -1;
    int32_t* row_offsets = nullptr;
    int32_t* col_indices = nullptr; // NULL when the layout stores no block
    int64_t* list_base = nullptr;
    int32_t* csc_offsets = nullptr; // NULL until the transpose is built
    int32_t* csc_rows = nullptr;    // NULL when the layout stores no block or has no transpose
    std::mutex transpose_lock;      // concurrent first backward calls build the transpose once
};

namespace {

sn_status cuda_fail(cudaError_t e, const char* call)
{
    // A sticky error (an earlier kernel fault) stays; a non-sticky one is cleared so the next call is clean.
    cudaGetLastError();
    return sn_fail(e == cudaErrorMemoryAllocation ? SN_OUT_OF_MEMORY : SNC_CUDA_ERROR, "%s: %s (%s)", call,
                    cudaGetErrorString(e), cudaGetErrorName(e));
}

#define SNC_CUDA_TRY(call)                                 \
    do {                                                   \
        const cudaError_t snc_e_ = (call);                 \
        if (snc_e_ != cudaSuccess) return cuda_fail(snc_e_, #call); \
    } while (0)

cudaStream_t as_stream(void* stream) { return static_cast<cudaStream_t>(stream); }

// Device memory released on scope exit (the host convenience path has many temporaries and many exits).
struct DeviceBuffer {
    void* ptr = nullptr;
    ~DeviceBuffer() { if (ptr != nullptr) cudaFree(ptr); }
    sn_status alloc(size_t bytes, const char* what)
    {
        if (bytes == 0) return SN_OK;
        const cudaError_t e = cudaMalloc(&ptr, bytes);
        if (e != cudaSuccess) {
            ptr = nullptr;
            cudaGetLastError();
            return sn_fail(e == cudaErrorMemoryAllocation ? SN_OUT_OF_MEMORY : SNC_CUDA_ERROR,
                            "cudaMalloc(%zu bytes for %s): %s", bytes, what, cudaGetErrorString(e));
        }
        return SN_OK;
    }
};

// Frees the device arrays and the handle; the first error (if any) is returned, nothing leaks.
// A device call's layout must live on the current device (its arrays are device pointers of that device).
sn_status check_current_device(const snc_layout* layout)
{
    int device = -1;
    SNC_CUDA_TRY(cudaGetDevice(&device));
    if (device != layout->device)
        return sn_fail(SN_INVALID_ARGUMENT, "layout was uploaded to device %d but the current device is %d",
                       layout->device, device);
    return SN_OK;
}

cudaError_t release_layout(snc_layout* layout)
{
    cudaError_t first = cudaSuccess;
    void* arrays[] = { layout->row_offsets, layout->col_indices, layout->list_base, layout->csc_offsets, layout->csc_rows };
    for (void* a : arrays) {
        const cudaError_t e = cudaFree(a);
        if (first == cudaSuccess) first = e;
    }
    delete layout;
    return first;
}

/* One result a _host call copies back: `bytes` from device `from` to host `to` (nothing when bytes is 0). */
struct host_copy {
    void* to;
    const void* from;
    size_t bytes;
};

/* The end of a _host call whose kernels were launched with status s: wait for them, copy the results back, free the
 * uploaded layout; the first failure is the one reported, named after `call`. */
sn_status finish_host_call(sn_status s, const host_copy* copies, int count, snc_layout* layout, const char* call)
{
    cudaError_t e = s == SN_OK ? cudaDeviceSynchronize() : cudaSuccess;
    for (int i = 0; i < count && s == SN_OK && e == cudaSuccess; ++i)
        if (copies[i].bytes > 0) e = cudaMemcpy(copies[i].to, copies[i].from, copies[i].bytes, cudaMemcpyDeviceToHost);
    if (s == SN_OK && e != cudaSuccess) s = cuda_fail(e, call); /* the kernel or a copy back */
    const cudaError_t freed = release_layout(layout);
    if (s == SN_OK && freed != cudaSuccess) return cuda_fail(freed, call); /* cudaFree of the layout */
    return s;
}

// Copies a validated layout (sn_validate_layout gave shape and list_base) to the current device, with its
// transpose when `transpose` (a backward call's own upload; snc_layout_create's handles build it lazily).
sn_status upload_layout(const sn_layout* layout, const sn_layout_shape& shape, const int64_t* list_base, bool transpose,
                        snc_layout** out)
{
    sn_status s = SN_OK;
    int32_t* csc_offsets = nullptr;
    int32_t* csc_rows = nullptr;
    if (transpose && (s = sn_transpose_layout(layout, &shape, list_base, &csc_offsets, &csc_rows)) != SN_OK) return s;
    snc_layout* l = new (std::nothrow) snc_layout();
    if (l == nullptr) {
        free(csc_offsets);
        free(csc_rows);
        return sn_fail(SN_OUT_OF_MEMORY, "could not allocate the layout handle");
    }
    l->shape = shape;
    const size_t offsets_bytes = sizeof(int32_t) * static_cast<size_t>(shape.num_layouts) * (shape.query_blocks + 1);
    const size_t cols_bytes = sizeof(int32_t) * static_cast<size_t>(shape.num_col_indices);
    const size_t base_bytes = sizeof(int64_t) * static_cast<size_t>(shape.num_layouts);
    cudaError_t e = cudaGetDevice(&l->device);
    const char* what = "cudaGetDevice";
    if (e == cudaSuccess) { e = cudaMalloc(reinterpret_cast<void**>(&l->row_offsets), offsets_bytes); what = "cudaMalloc(row_offsets)"; }
    if (e == cudaSuccess && cols_bytes > 0) { e = cudaMalloc(reinterpret_cast<void**>(&l->col_indices), cols_bytes); what = "cudaMalloc(col_indices)"; }
    if (e == cudaSuccess) { e = cudaMalloc(reinterpret_cast<void**>(&l->list_base), base_bytes); what = "cudaMalloc(list_base)"; }
    if (e == cudaSuccess) { e = cudaMemcpy(l->row_offsets, layout->row_offsets, offsets_bytes, cudaMemcpyHostToDevice); what = "cudaMemcpy(row_offsets)"; }
    if (e == cudaSuccess && cols_bytes > 0) { e = cudaMemcpy(l->col_indices, layout->col_indices, cols_bytes, cudaMemcpyHostToDevice); what = "cudaMemcpy(col_indices)"; }
    if (e == cudaSuccess) { e = cudaMemcpy(l->list_base, list_base, base_bytes, cudaMemcpyHostToDevice); what = "cudaMemcpy(list_base)"; }
    if (transpose) {
        const size_t csc_bytes = sizeof(int32_t) * static_cast<size_t>(shape.num_layouts) * (shape.key_blocks + 1);
        if (e == cudaSuccess) { e = cudaMalloc(reinterpret_cast<void**>(&l->csc_offsets), csc_bytes); what = "cudaMalloc(csc_offsets)"; }
        if (e == cudaSuccess && cols_bytes > 0) { e = cudaMalloc(reinterpret_cast<void**>(&l->csc_rows), cols_bytes); what = "cudaMalloc(csc_rows)"; }
        if (e == cudaSuccess) { e = cudaMemcpy(l->csc_offsets, csc_offsets, csc_bytes, cudaMemcpyHostToDevice); what = "cudaMemcpy(csc_offsets)"; }
        if (e == cudaSuccess && cols_bytes > 0) { e = cudaMemcpy(l->csc_rows, csc_rows, cols_bytes, cudaMemcpyHostToDevice); what = "cudaMemcpy(csc_rows)"; }
        free(csc_offsets);
        free(csc_rows);
    }
    if (e != cudaSuccess) {
        s = cuda_fail(e, what);
        release_layout(l);
        return s;
    }
    *out = l;
    return SN_OK;
}

// The transpose of an uploaded layout, built once, at the first backward call (whose problem was checked to fit the
// layout, so key_blocks is bounded by its key length): the CSR arrays are read back, transposed on the host
// (sn_layout_transpose.c) and uploaded. The handle is logically const: this only fills its cache.
sn_status ensure_transpose(const snc_layout* handle)
{
    snc_layout* l = const_cast<snc_layout*>(handle);
    std::lock_guard<std::mutex> hold(l->transpose_lock);
    if (l->csc_offsets != nullptr) return SN_OK;
    const sn_layout_shape& shape = l->shape;
    const size_t offsets_count = static_cast<size_t>(shape.num_layouts) * (shape.query_blocks + 1);
    const size_t cols_count = static_cast<size_t>(shape.num_col_indices);
    int32_t* row_offsets = static_cast<int32_t*>(malloc(sizeof(int32_t) * offsets_count));
    int32_t* col_indices = static_cast<int32_t*>(malloc(sizeof(int32_t) * (cols_count > 0 ? cols_count : 1)));
    int64_t* list_base = static_cast<int64_t*>(malloc(sizeof(int64_t) * static_cast<size_t>(shape.num_layouts)));
    int32_t* csc_offsets = nullptr;
    int32_t* csc_rows = nullptr;
    int32_t* d_offsets = nullptr;
    int32_t* d_rows = nullptr;
    sn_status s = SN_OK;
    cudaError_t e = cudaSuccess;
    const char* what = "";
    if (row_offsets == nullptr || col_indices == nullptr || list_base == nullptr)
        s = sn_fail(SN_OUT_OF_MEMORY, "could not allocate the host copy of the layout for its transpose");
    if (s == SN_OK) { e = cudaMemcpy(row_offsets, l->row_offsets, sizeof(int32_t) * offsets_count, cudaMemcpyDeviceToHost); what = "cudaMemcpy(row_offsets back)"; }
    if (s == SN_OK && e == cudaSuccess && cols_count > 0) { e = cudaMemcpy(col_indices, l->col_indices, sizeof(int32_t) * cols_count, cudaMemcpyDeviceToHost); what = "cudaMemcpy(col_indices back)"; }
    if (s == SN_OK && e == cudaSuccess) { e = cudaMemcpy(list_base, l->list_base, sizeof(int64_t) * shape.num_layouts, cudaMemcpyDeviceToHost); what = "cudaMemcpy(list_base back)"; }
    if (s == SN_OK && e == cudaSuccess) {
        sn_layout host = {};
        host.block_size = shape.block_size;
        host.query_blocks = shape.query_blocks;
        host.key_blocks = shape.key_blocks;
        host.num_layouts = shape.num_layouts;
        host.num_col_indices = shape.num_col_indices;
        host.row_offsets = row_offsets;
        host.col_indices = cols_count > 0 ? col_indices : nullptr;
        s = sn_transpose_layout(&host, &shape, list_base, &csc_offsets, &csc_rows);
    }
    const size_t csc_bytes = sizeof(int32_t) * static_cast<size_t>(shape.num_layouts) * (shape.key_blocks + 1);
    if (s == SN_OK && e == cudaSuccess) { e = cudaMalloc(reinterpret_cast<void**>(&d_offsets), csc_bytes); what = "cudaMalloc(csc_offsets)"; }
    if (s == SN_OK && e == cudaSuccess && cols_count > 0) { e = cudaMalloc(reinterpret_cast<void**>(&d_rows), sizeof(int32_t) * cols_count); what = "cudaMalloc(csc_rows)"; }
    if (s == SN_OK && e == cudaSuccess) { e = cudaMemcpy(d_offsets, csc_offsets, csc_bytes, cudaMemcpyHostToDevice); what = "cudaMemcpy(csc_offsets)"; }
    if (s == SN_OK && e == cudaSuccess && cols_count > 0) { e = cudaMemcpy(d_rows, csc_rows, sizeof(int32_t) * cols_count, cudaMemcpyHostToDevice); what = "cudaMemcpy(csc_rows)"; }
    free(row_offsets);
    free(col_indices);
    free(list_base);
    free(csc_offsets);
    free(csc_rows);
    if (s == SN_OK && e != cudaSuccess) s = cuda_fail(e, what);
    if (s != SN_OK) {
        cudaFree(d_offsets);
        cudaFree(d_rows);
        return s;
    }
    l->csc_rows = d_rows;
    l->csc_offsets = d_offsets; // last: it marks the transpose as built
    return SN_OK;
}

sn_status launch(const sn_plan& params, cudaStream_t stream)
{
    const cudaError_t e = params.dtype == SNC_DTYPE_F32 ? snc::launch_attention_f32(params, stream)
                                                        : snc::launch_attention_mma(params, stream);
    if (e != cudaSuccess) return cuda_fail(e, params.dtype == SNC_DTYPE_F32 ? "attention_f32 launch" : "attention_mma launch");
    return SN_OK;
}

// Device copies of the problem's host segment ids (both or neither; nothing is allocated without them).
sn_status upload_segments(const sn_plan& plan, const sn_problem* problem, DeviceBuffer& segq, DeviceBuffer& segk)
{
    if (problem->query_segment_ids == nullptr) return SN_OK;
    const size_t segq_bytes = sizeof(int32_t) * static_cast<size_t>(plan.batch) * plan.query_length;
    const size_t segk_bytes = sizeof(int32_t) * static_cast<size_t>(plan.batch) * plan.key_length;
    sn_status s;
    if ((s = segq.alloc(segq_bytes, "query_segment_ids")) != SN_OK || (s = segk.alloc(segk_bytes, "key_segment_ids")) != SN_OK)
        return s;
    SNC_CUDA_TRY(cudaMemcpy(segq.ptr, problem->query_segment_ids, segq_bytes, cudaMemcpyHostToDevice));
    SNC_CUDA_TRY(cudaMemcpy(segk.ptr, problem->key_segment_ids, segk_bytes, cudaMemcpyHostToDevice));
    return SN_OK;
}

// The backward's two kernels on `stream`, with a launch error turned into a status.
sn_status launch_backward(const snc_backward_plan& bp, cudaStream_t stream)
{
    const cudaError_t e = snc::launch_attention_backward(bp, stream);
    if (e != cudaSuccess) return cuda_fail(e, "attention_backward launch");
    return SN_OK;
}

// The device side of a backward call whose checks all passed: the layout's device arrays into the plan.
snc_backward_plan backward_plan(const sn_plan& plan, const snc_layout& layout, const sn_backward_buffers& b)
{
    snc_backward_plan bp;
    bp.plan = plan;
    bp.plan.row_offsets = layout.row_offsets;
    bp.plan.col_indices = layout.col_indices;
    bp.plan.list_base = layout.list_base;
    bp.plan.q = b.q;
    bp.plan.k = b.k;
    bp.plan.v = b.v;
    bp.plan.out = nullptr; // the forward's output slot: unused by the backward
    bp.plan.lse = const_cast<float*>(b.lse); // read only
    bp.out = b.out;
    bp.dout = b.dout;
    bp.dq = b.dq;
    bp.dk = b.dk;
    bp.dv = b.dv;
    bp.csc_offsets = layout.csc_offsets;
    bp.csc_rows = layout.csc_rows;
    return bp;
}

} // namespace

extern "C" {

SN_API int32_t snc_abi_version(void)
{
#if defined(SN_TEST_ABI_MISMATCH) && SN_TEST_ABI_MISMATCH == 1 // test libraries only (native/cuda/CMakeLists.txt)
    return SNC_ABI_VERSION + 1000;
#else
    return SNC_ABI_VERSION;
#endif
}

SN_API int32_t snc_struct_layout(int32_t which, int32_t* size, int32_t* offsets, int32_t max_offsets)
{
    return sn_describe_struct(which, size, offsets, max_offsets);
}

SN_API const char* snc_last_error(void) { return sn_error_message(); }

SN_API const char* snc_build_info(void)
{
    static char info[256];
    if (info[0] == '\0')
        snprintf(info, sizeof info, "sparsenative_cuda abi=%d cudart=%d.%d (static) archs=%s kernels=f32-simt,f16/bf16-mma.sync,backward-f32-simt",
                 SNC_ABI_VERSION, CUDART_VERSION / 1000, (CUDART_VERSION % 1000) / 10, SNC_CUDA_ARCHS);
    return info;
}

SN_API sn_status snc_device_count(int32_t* count)
{
    sn_clear_error();
    if (count == nullptr) return sn_fail(SN_INVALID_ARGUMENT, "count is NULL");
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        // No driver / no device is an answer (0), not a failure; the message keeps the reason for callers.
        cudaGetLastError();
        *count = 0;
        sn_fail(SN_OK, "cudaGetDeviceCount: %s (%s)", cudaGetErrorString(e), cudaGetErrorName(e));
        return SN_OK;
    }
    *count = n;
    return SN_OK;
}

SN_API sn_status snc_device_name(int32_t device, char* name, int32_t capacity)
{
    sn_clear_error();
    if (name == nullptr || capacity < 1)
        return sn_fail(SN_INVALID_ARGUMENT, "name = %p, capacity = %d: need a buffer of at least 1 byte", (void*)name, capacity);
    cudaDeviceProp prop;
    SNC_CUDA_TRY(cudaGetDeviceProperties(&prop, device));
    snprintf(name, static_cast<size_t>(capacity), "%s (sm_%d%d, %d SMs)", prop.name, prop.major, prop.minor,
             prop.multiProcessorCount);
    return SN_OK;
}

SN_API sn_status snc_malloc(size_t bytes, void** device_ptr)
{
    sn_clear_error();
    if (device_ptr == nullptr) return sn_fail(SN_INVALID_ARGUMENT, "device_ptr is NULL");
    *device_ptr = nullptr;
    if (bytes == 0) return sn_fail(SN_INVALID_ARGUMENT, "bytes = 0: must be > 0");
    const cudaError_t e = cudaMalloc(device_ptr, bytes);
    if (e != cudaSuccess) {
        *device_ptr = nullptr;
        cudaGetLastError();
        return sn_fail(e == cudaErrorMemoryAllocation ? SN_OUT_OF_MEMORY : SNC_CUDA_ERROR, "cudaMalloc(%zu bytes): %s (%s)",
                        bytes, cudaGetErrorString(e), cudaGetErrorName(e));
    }
    return SN_OK;
}

SN_API sn_status snc_free(void* device_ptr)
{
    sn_clear_error();
    if (device_ptr == nullptr) return SN_OK;
    SNC_CUDA_TRY(cudaFree(device_ptr));
    return SN_OK;
}

static sn_status copy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, void* stream, const char* name)
{
    sn_clear_error();
    if (bytes == 0) return SN_OK;
    if (dst == nullptr || src == nullptr)
        return sn_fail(SN_INVALID_ARGUMENT, "%s: %s is NULL", name, dst == nullptr ? "destination" : "source");
    const cudaError_t e = cudaMemcpyAsync(dst, src, bytes, kind, as_stream(stream));
    if (e != cudaSuccess) return cuda_fail(e, name);
    SNC_CUDA_TRY(cudaStreamSynchronize(as_stream(stream)));
    return SN_OK;
}

SN_API sn_status snc_copy_to_device(void* device_dst, const void* host_src, size_t bytes, void* stream)
{
    return copy(device_dst, host_src, bytes, cudaMemcpyHostToDevice, stream, "snc_copy_to_device");
}

SN_API sn_status snc_copy_to_host(void* host_dst, const void* device_src, size_t bytes, void* stream)
{
    return copy(host_dst, device_src, bytes, cudaMemcpyDeviceToHost, stream, "snc_copy_to_host");
}

SN_API sn_status snc_synchronize(void* stream)
{
    sn_clear_error();
    SNC_CUDA_TRY(cudaStreamSynchronize(as_stream(stream)));
    return SN_OK;
}

SN_API sn_status snc_layout_create(const sn_layout* layout, snc_layout** out)
{
    sn_clear_error();
    if (out == nullptr) return sn_fail(SN_INVALID_ARGUMENT, "out is NULL");
    *out = nullptr;
    // No problem yet: the block counts are checked against each call's problem (sn_check_layout_fit).
    sn_layout_shape shape;
    int64_t* list_base = nullptr;
    sn_status s = sn_validate_layout(layout, nullptr, &shape, &list_base);
    if (s == SN_OK) s = upload_layout(layout, shape, list_base, false, out);
    free(list_base);
    return s;
}

SN_API sn_status snc_layout_destroy(snc_layout* layout)
{
    sn_clear_error();
    if (layout == nullptr) return SN_OK;
    const cudaError_t e = release_layout(layout);
    if (e != cudaSuccess) return cuda_fail(e, "snc_layout_destroy: cudaFree");
    return SN_OK;
}

SN_API sn_status snc_attention_forward_device(const sn_problem* problem, const snc_layout* layout, int32_t dtype,
                                              const void* q, const void* k, const void* v, void* out, float* lse,
                                              void* stream)
{
    sn_clear_error();
    // The shared checks in their order (the layout was validated by snc_layout_create), then the device's.
    sn_status s = sn_check_problem(problem);
    if (s != SN_OK) return s;
    if (layout == nullptr) return sn_fail(SN_INVALID_ARGUMENT, "layout is NULL");
    sn_plan plan;
    if ((s = sn_check_layout_fit(&layout->shape, problem)) != SN_OK ||
        (s = snc_plan_call(&plan, problem, &layout->shape, dtype)) != SN_OK ||
        (s = snc_check_device_pointers(&plan, q, k, v, out, lse)) != SN_OK)
        return s;
    if ((s = check_current_device(layout)) != SN_OK) return s;
    plan.row_offsets = layout->row_offsets;
    plan.col_indices = layout->col_indices;
    plan.list_base = layout->list_base;
    plan.q = q;
    plan.k = k;
    plan.v = v;
    plan.out = out;
    plan.lse = lse;
    return launch(plan, as_stream(stream));
}

// Every check on the host data (once, in the shared order), then transfers, the kernel and the copy back.
static sn_status forward_host(const sn_problem* problem, const sn_layout* layout, const sn_layout_shape& shape,
                              const int64_t* list_base, int32_t dtype, const void* q, size_t q_len, const void* k,
                              size_t k_len, const void* v, size_t v_len, void* out, size_t out_len, float* lse,
                              size_t lse_len)
{
    sn_plan plan;
    sn_status s = snc_plan_call(&plan, problem, &shape, dtype);
    if (s != SN_OK) return s;
    s = snc_check_host_buffers(&plan, problem->flags, q, q_len, k, k_len, v, v_len, out, out_len, lse, lse_len, layout);
    if (s != SN_OK) return s;

    const size_t es = snc_dtype_size(dtype);
    const size_t q_bytes = static_cast<size_t>(plan.q_count) * es, kv_bytes = static_cast<size_t>(plan.kv_count) * es;
    const size_t lse_bytes = static_cast<size_t>(plan.lse_count) * sizeof(float);
    DeviceBuffer dq, dk, dv, dout, dlse, dsegq, dsegk;
    if ((s = dq.alloc(q_bytes, "q")) != SN_OK || (s = dk.alloc(kv_bytes, "k")) != SN_OK ||
        (s = dv.alloc(kv_bytes, "v")) != SN_OK || (s = dout.alloc(q_bytes, "out")) != SN_OK ||
        (lse != nullptr && (s = dlse.alloc(lse_bytes, "lse")) != SN_OK))
        return s;
    if ((s = upload_segments(plan, problem, dsegq, dsegk)) != SN_OK) return s;
    SNC_CUDA_TRY(cudaMemcpy(dq.ptr, q, q_bytes, cudaMemcpyHostToDevice));
    SNC_CUDA_TRY(cudaMemcpy(dk.ptr, k, kv_bytes, cudaMemcpyHostToDevice));
    SNC_CUDA_TRY(cudaMemcpy(dv.ptr, v, kv_bytes, cudaMemcpyHostToDevice));
    snc_layout* dl = nullptr;
    if ((s = upload_layout(layout, shape, list_base, false, &dl)) != SN_OK) return s;
    plan.row_offsets = dl->row_offsets;
    plan.col_indices = dl->col_indices;
    plan.list_base = dl->list_base;
    plan.query_segment_ids = static_cast<const int32_t*>(dsegq.ptr);
    plan.key_segment_ids = static_cast<const int32_t*>(dsegk.ptr);
    plan.q = dq.ptr;
    plan.k = dk.ptr;
    plan.v = dv.ptr;
    plan.out = dout.ptr;
    plan.lse = static_cast<float*>(dlse.ptr);
    s = launch(plan, nullptr);
    const host_copy copies[] = { { out, dout.ptr, q_bytes }, { lse, dlse.ptr, lse != nullptr ? lse_bytes : 0 } };
    return finish_host_call(s, copies, 2, dl, "snc_attention_forward_host");
}

SN_API sn_status snc_attention_forward_host(const sn_problem* problem, const sn_layout* layout, int32_t dtype,
                                            const void* q, size_t q_len, const void* k, size_t k_len,
                                            const void* v, size_t v_len, void* out, size_t out_len,
                                            float* lse, size_t lse_len)
{
    sn_clear_error();
    sn_layout_shape shape;
    int64_t* list_base = nullptr;
    sn_status s = sn_check_problem(problem);
    if (s == SN_OK) s = sn_validate_layout(layout, problem, &shape, &list_base);
    if (s == SN_OK)
        s = forward_host(problem, layout, shape, list_base, dtype, q, q_len, k, k_len, v, v_len, out, out_len, lse, lse_len);
    free(list_base);
    return s;
}

SN_API sn_status snc_attention_backward(const sn_problem* problem, const snc_layout* layout, int32_t dtype,
                                        const void* q, const void* k, const void* v, const void* out, const float* lse,
                                        const void* dout, void* dq, void* dk, void* dv, void* stream)
{
    sn_clear_error();
    sn_status s = sn_check_problem(problem);
    if (s != SN_OK) return s;
    if (layout == nullptr) return sn_fail(SN_INVALID_ARGUMENT, "layout is NULL");
    const sn_backward_buffers buffers = { q, k, v, out, lse, dout, dq, dk, dv, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
    sn_plan plan;
    if ((s = sn_check_layout_fit(&layout->shape, problem)) != SN_OK ||
        (s = snc_plan_call(&plan, problem, &layout->shape, dtype)) != SN_OK ||
        (s = snc_check_backward_device_pointers(&plan, &buffers)) != SN_OK)
        return s;
    if ((s = check_current_device(layout)) != SN_OK || (s = ensure_transpose(layout)) != SN_OK) return s;
    return launch_backward(backward_plan(plan, *layout, buffers), as_stream(stream));
}

// Every check on the host data (once, in the shared order), then transfers, the two kernels and the copy back.
static sn_status backward_host(const sn_problem* problem, const sn_layout* layout, const sn_layout_shape& shape,
                               const int64_t* list_base, int32_t dtype, const sn_backward_buffers& host)
{
    sn_plan plan;
    sn_status s = snc_plan_call(&plan, problem, &shape, dtype);
    const size_t es = snc_dtype_size(dtype);
    if (s != SN_OK || (s = sn_check_backward_buffers(&plan, static_cast<int64_t>(es), layout, &host)) != SN_OK) return s;
    if ((problem->flags & SN_FLAG_ALLOW_NON_FINITE) == 0 &&
        (s = sn_check_backward_finite(&plan, sn_finder_for(dtype), &host)) != SN_OK)
        return s;

    const size_t q_bytes = es * static_cast<size_t>(plan.q_count);
    const size_t kv_bytes = es * static_cast<size_t>(plan.kv_count);
    const size_t lse_bytes = sizeof(float) * static_cast<size_t>(plan.lse_count);
    DeviceBuffer dq, dk, dv, dout, dlse, ddout, ddq, ddk, ddv, dsegq, dsegk;
    if ((s = dq.alloc(q_bytes, "q")) != SN_OK || (s = dk.alloc(kv_bytes, "k")) != SN_OK ||
        (s = dv.alloc(kv_bytes, "v")) != SN_OK || (s = dout.alloc(q_bytes, "out")) != SN_OK ||
        (s = dlse.alloc(lse_bytes, "lse")) != SN_OK || (s = ddout.alloc(q_bytes, "dout")) != SN_OK ||
        (s = ddq.alloc(q_bytes, "dq")) != SN_OK || (s = ddk.alloc(kv_bytes, "dk")) != SN_OK ||
        (s = ddv.alloc(kv_bytes, "dv")) != SN_OK || (s = upload_segments(plan, problem, dsegq, dsegk)) != SN_OK)
        return s;
    SNC_CUDA_TRY(cudaMemcpy(dq.ptr, host.q, q_bytes, cudaMemcpyHostToDevice));
    SNC_CUDA_TRY(cudaMemcpy(dk.ptr, host.k, kv_bytes, cudaMemcpyHostToDevice));
    SNC_CUDA_TRY(cudaMemcpy(dv.ptr, host.v, kv_bytes, cudaMemcpyHostToDevice));
    SNC_CUDA_TRY(cudaMemcpy(dout.ptr, host.out, q_bytes, cudaMemcpyHostToDevice));
    SNC_CUDA_TRY(cudaMemcpy(dlse.ptr, host.lse, lse_bytes, cudaMemcpyHostToDevice));
    SNC_CUDA_TRY(cudaMemcpy(ddout.ptr, host.dout, q_bytes, cudaMemcpyHostToDevice));
    snc_layout* dl = nullptr;
    if ((s = upload_layout(layout, shape, list_base, true, &dl)) != SN_OK) return s;
    plan.query_segment_ids = static_cast<const int32_t*>(dsegq.ptr);
    plan.key_segment_ids = static_cast<const int32_t*>(dsegk.ptr);
    sn_backward_buffers device = host;
    device.q = dq.ptr;
    device.k = dk.ptr;
    device.v = dv.ptr;
    device.out = dout.ptr;
    device.lse = static_cast<const float*>(dlse.ptr);
    device.dout = ddout.ptr;
    device.dq = ddq.ptr;
    device.dk = ddk.ptr;
    device.dv = ddv.ptr;
    s = launch_backward(backward_plan(plan, *dl, device), nullptr);
    const host_copy copies[] = { { host.dq, ddq.ptr, q_bytes }, { host.dk, ddk.ptr, kv_bytes }, { host.dv, ddv.ptr, kv_bytes } };
    return finish_host_call(s, copies, 3, dl, "snc_attention_backward_host");
}

SN_API sn_status snc_attention_backward_host(const sn_problem* problem, const sn_layout* layout, int32_t dtype,
                                             const void* q, size_t q_len, const void* k, size_t k_len,
                                             const void* v, size_t v_len, const void* out, size_t out_len,
                                             const float* lse, size_t lse_len, const void* dout, size_t dout_len,
                                             void* dq, size_t dq_len, void* dk, size_t dk_len, void* dv, size_t dv_len)
{
    sn_clear_error();
    const sn_backward_buffers buffers = {
        q, k, v, out, lse, dout, dq, dk, dv,
        q_len, k_len, v_len, out_len, lse_len, dout_len, dq_len, dk_len, dv_len };
    sn_layout_shape shape;
    int64_t* list_base = nullptr;
    sn_status s = sn_check_problem(problem);
    if (s == SN_OK) s = sn_validate_layout(layout, problem, &shape, &list_base);
    if (s == SN_OK) s = backward_host(problem, layout, shape, list_base, dtype, buffers);
    free(list_base);
    return s;
}

} // extern "C"
