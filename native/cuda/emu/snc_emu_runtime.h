// The CUDA runtime API that snc_api.cu uses, emulated on the host for the CPU emulation test: "device"
// memory is host memory, copies are memcpy, one device named "CPU emulation". Test-only.
#ifndef SNC_EMU_RUNTIME_H
#define SNC_EMU_RUNTIME_H

#include <cstdlib>
#include <cstring>

#include "snc_emu.h"

#define CUDART_VERSION 13000
enum cudaMemcpyKind { cudaMemcpyHostToHost = 0, cudaMemcpyHostToDevice = 1, cudaMemcpyDeviceToHost = 2, cudaMemcpyDeviceToDevice = 3 };
constexpr cudaError_t cudaErrorMemoryAllocation = static_cast<cudaError_t>(2);
struct cudaDeviceProp { char name[256]; int major, minor, multiProcessorCount; };

inline const char* cudaGetErrorString(cudaError_t e)
{
    return e == cudaSuccess ? "no error" : e == 100 ? "no CUDA-capable device is detected" : "emulated error";
}
inline const char* cudaGetErrorName(cudaError_t e)
{
    return e == cudaSuccess ? "cudaSuccess" : e == 100 ? "cudaErrorNoDevice" : "cudaErrorEmulated";
}
constexpr cudaError_t cudaErrorNoDevice = static_cast<cudaError_t>(100);
// SNC_EMU_DEVICES=0 makes the emulated runtime answer like a machine with a driver but no GPU.
inline cudaError_t cudaGetDeviceCount(int* n)
{
    const char* env = std::getenv("SNC_EMU_DEVICES");
    if (env != nullptr && env[0] == '0') { *n = 0; return cudaErrorNoDevice; }
    *n = 1;
    return cudaSuccess;
}
inline cudaError_t cudaGetDevice(int* d) { *d = 0; return cudaSuccess; }
inline cudaError_t cudaSetDevice(int d) { return d == 0 ? cudaSuccess : cudaErrorInvalidValue; }
inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int d)
{
    if (d != 0) return cudaErrorInvalidValue;
    std::strcpy(p->name, "CPU emulation");
    p->major = 8;
    p->minor = 0;
    p->multiProcessorCount = 1;
    return cudaSuccess;
}
inline cudaError_t cudaMalloc(void** p, size_t bytes)
{
    *p = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
    if (*p == nullptr) return cudaErrorMemoryAllocation;
    std::memset(*p, 0xFF, bytes); // like fresh device memory: not zero
    return cudaSuccess;
}
inline cudaError_t cudaFree(void* p) { std::free(p); return cudaSuccess; }
inline cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind) { std::memcpy(dst, src, bytes); return cudaSuccess; }
inline cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind k, cudaStream_t) { return cudaMemcpy(dst, src, bytes, k); }
inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
inline cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }

#endif
