// Internal: the kernel launchers (CUDA C++; included only by .cu files, which nvcc compiles with the CUDA
// runtime header already included). Each returns the launch's error (cudaSuccess when queued).
#ifndef SNC_LAUNCH_H
#define SNC_LAUNCH_H

#include "sn_plan.h"
#include "snc_backward.h"

namespace snc {

// f32 in/out, SIMT FMA. Any head_dim that is a multiple of 8 up to 256; block sizes 16..128.
cudaError_t launch_attention_f32(const sn_plan& p, cudaStream_t stream);

// f16 or bf16 in/out (p.dtype), f32 accumulation on tensor cores. head_dim 64/128, block size 64/128.
cudaError_t launch_attention_mma(const sn_plan& p, cudaStream_t stream);

// The backward, SIMT FMA in f32 (snc_backward_simt.cu): the dq kernel, then the dk/dv kernel, on `stream`.
// f32 in/out: head_dim any multiple of 8 up to 256, block sizes 16..128; f16/bf16 (bp.plan.dtype) in/out, lse
// f32: head_dim 64/128, block size 64/128.
cudaError_t launch_attention_backward(const snc_backward_plan& bp, cudaStream_t stream);

} // namespace snc

#endif
