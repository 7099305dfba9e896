// A minimal stand-in for the CUDA headers, used ONLY to syntax-check the device and host code with clang
// (`clang++ -x cuda --cuda-gpu-arch=sm_80 -nocudainc -nocudalib -fsyntax-only -include cuda_shim.h`) on a
// machine without a CUDA toolkit. It declares the few things the library uses, with the signatures of the
// CUDA runtime API; it is never part of a build (nvcc includes the real cuda_runtime.h).
#ifndef SNC_CUDA_SHIM_H
#define SNC_CUDA_SHIM_H

#include <stddef.h>

#define __host__ __attribute__((host))
#define __device__ __attribute__((device))
#define __global__ __attribute__((global))
#define __shared__ __attribute__((shared))
#define __constant__ __attribute__((constant))
#define __forceinline__ __inline__ __attribute__((always_inline))
#define __launch_bounds__(...) __attribute__((launch_bounds(__VA_ARGS__)))

#include <__clang_cuda_builtin_vars.h> // threadIdx, blockIdx, blockDim, gridDim (clang's own header)

#define CUDART_VERSION 13000

struct dim3 {
    unsigned x, y, z;
    __host__ __device__ constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
};
struct uint4 { unsigned x, y, z, w; };
struct uint2 { unsigned x, y; };
struct float4 { float x, y, z, w; };

typedef struct CUstream_st* cudaStream_t;
enum cudaError { cudaSuccess = 0, cudaErrorInvalidValue = 1, cudaErrorMemoryAllocation = 2 };
typedef enum cudaError cudaError_t;
enum cudaMemcpyKind { cudaMemcpyHostToHost = 0, cudaMemcpyHostToDevice = 1, cudaMemcpyDeviceToHost = 2, cudaMemcpyDeviceToDevice = 3 };
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };
struct cudaDeviceProp { char name[256]; int major, minor, multiProcessorCount; };

extern "C" {
__host__ cudaError_t cudaConfigureCall(dim3 grid, dim3 block, size_t shared = 0, cudaStream_t stream = 0);
__host__ cudaError_t cudaGetLastError(void);
__host__ const char* cudaGetErrorString(cudaError_t error);
__host__ const char* cudaGetErrorName(cudaError_t error);
__host__ cudaError_t cudaGetDeviceCount(int* count);
__host__ cudaError_t cudaGetDevice(int* device);
__host__ cudaError_t cudaSetDevice(int device);
__host__ cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device);
__host__ cudaError_t cudaMalloc(void** ptr, size_t bytes);
__host__ cudaError_t cudaFree(void* ptr);
__host__ cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind);
__host__ cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream);
__host__ cudaError_t cudaStreamSynchronize(cudaStream_t stream);
__host__ cudaError_t cudaDeviceSynchronize(void);
__host__ cudaError_t cudaFuncSetAttribute(const void* func, cudaFuncAttribute attr, int value);
}
// The runtime's C++ template overload (cuda_runtime.h) that accepts a kernel pointer directly.
template <class T>
__host__ cudaError_t cudaFuncSetAttribute(T* entry, cudaFuncAttribute attr, int value)
{
    return cudaFuncSetAttribute(reinterpret_cast<const void*>(entry), attr, value);
}

// Device functions and intrinsics the kernels use (declarations only: nothing is code-generated).
__device__ float exp2f(float x);
__device__ float log2f(float x);
__device__ float fmaxf(float a, float b);
__device__ int min(int a, int b);
__device__ float __shfl_xor_sync(unsigned mask, float value, int lane_mask);
__device__ void __syncthreads(void);
__device__ size_t __cvta_generic_to_shared(const void* ptr);

#endif
