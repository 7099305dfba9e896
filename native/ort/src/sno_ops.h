// The operators of the ai.sparsenative domain.
#pragma once

#include "sno_common.h"

namespace sno {

// ai.sparsenative SparseAttention: com.microsoft.SparseAttention's inputs, attributes and outputs (so a node moves
// here by changing its domain), computed by libsparsenative.
struct SparseAttentionKernel {
  std::string node;
  int32_t num_heads = 0, kv_num_heads = 0, block_size = 0;
  float scale = 0.0f;
  bool do_rotary = false, rotary_interleaved = false;
  int32_t num_threads = 0;
  Element element = Element::Float32;
  OrtStatusPtr ComputeV2(OrtKernelContext* context) noexcept;
  void Compute(OrtKernelContext* context);
};

// One instance per element type (float32, float16): ORT picks the kernel by the query's type and refuses others.
struct SparseAttentionOp : Ort::CustomOpBase<SparseAttentionOp, SparseAttentionKernel, true> {
  explicit SparseAttentionOp(Element e) : element(e) {}
  Element element;
  ONNXTensorElementDataType T() const;
  OrtStatusPtr CreateKernelV2(const OrtApi& api, const OrtKernelInfo* info, void** kernel) const noexcept;
  const char* GetName() const { return "SparseAttention"; }
  size_t GetInputTypeCount() const { return 11; }
  ONNXTensorElementDataType GetInputType(size_t index) const;
  OrtCustomOpInputOutputCharacteristic GetInputCharacteristic(size_t index) const;
  size_t GetOutputTypeCount() const { return 3; }
  ONNXTensorElementDataType GetOutputType(size_t) const { return T(); }
};

// ai.sparsenative BlockSparseAttention: Q, K, V (+ optional KV cache), the layout as padded CSR inputs,
// optional key padding mask, causal, GQA, scale, optional log-sum-exp output.
struct BlockSparseAttentionKernel {
  std::string node;
  int32_t num_heads = 0, kv_num_heads = 0, block_size = 0;
  float scale = 0.0f;
  bool causal = false;
  int32_t num_threads = 0;
  Element element = Element::Float32;
  OrtStatusPtr ComputeV2(OrtKernelContext* context) noexcept;
  void Compute(OrtKernelContext* context);
};

// One instance per element type (float32, float16): ORT picks the kernel by the query's type and refuses others.
struct BlockSparseAttentionOp : Ort::CustomOpBase<BlockSparseAttentionOp, BlockSparseAttentionKernel, true> {
  explicit BlockSparseAttentionOp(Element e) : element(e) {}
  Element element;
  ONNXTensorElementDataType T() const;
  OrtStatusPtr CreateKernelV2(const OrtApi& api, const OrtKernelInfo* info, void** kernel) const noexcept;
  const char* GetName() const { return "BlockSparseAttention"; }
  size_t GetInputTypeCount() const { return 8; }
  ONNXTensorElementDataType GetInputType(size_t index) const;
  OrtCustomOpInputOutputCharacteristic GetInputCharacteristic(size_t index) const;
  size_t GetOutputTypeCount() const { return 4; }
  ONNXTensorElementDataType GetOutputType(size_t index) const;
  OrtCustomOpInputOutputCharacteristic GetOutputCharacteristic(size_t index) const;
};

// The ONNX element type of an Element.
ONNXTensorElementDataType OnnxType(Element e);

// Scale as ORT's attention ops read it: 0 means 1/sqrt(head_size).
float ResolvedScale(float scale, int32_t head_size);
// num_heads / kv_num_heads attributes, checked (kv_num_heads defaults to num_heads when default_kv is set).
void HeadAttributes(const Ort::ConstKernelInfo& info, bool kv_required, int32_t& num_heads, int32_t& kv_num_heads);
int32_t BlockSizeAttribute(const Ort::ConstKernelInfo& info, const char* name);

}  // namespace sno
