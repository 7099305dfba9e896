// What both SparseNative ONNX Runtime operators share: errors as ORT statuses, attribute and tensor access with the
// field named in every message, element conversion (fp32, and fp16 widened to fp32), the block layouts as ORT
// passes them (per-layout CSR rows padded to a fixed width) and the one call into libsparsenative per KV-head group.
#pragma once

#include <onnxruntime_cxx_api.h>

#include <cstdint>
#include <string>
#include <vector>

#include "sparse_native.h"
#include <memory>

namespace sno {

extern const char* const kDomain;  // "ai.sparsenative"

// A refusal of the model or its inputs: becomes an ORT status (ORT_INVALID_ARGUMENT unless said otherwise).
struct OpError {
  std::string message;
  OrtErrorCode code = ORT_INVALID_ARGUMENT;
};

[[noreturn]] void Fail(const std::string& message, OrtErrorCode code = ORT_INVALID_ARGUMENT);

// Runs body and turns whatever it throws (OpError, Ort::Exception, std::bad_alloc, anything else) into a status
// whose message starts with "<op> node '<name>': ". Never lets an exception cross into ORT.
template <class Body>
OrtStatusPtr Guard(const char* op, const std::string& node, Body&& body) noexcept;
OrtStatusPtr MakeStatus(const char* op, const std::string& node, OrtErrorCode code, const std::string& message) noexcept;

// Attributes. Optional ones take the default when absent; a present attribute of the wrong type is an error.
int64_t IntAttribute(const Ort::ConstKernelInfo& info, const char* name, const int64_t* default_value);
float FloatAttribute(const Ort::ConstKernelInfo& info, const char* name, float default_value);
// The session config entry "sparsenative.num_threads" (libsparsenative's num_threads: 0 = every CPU the process may
// run on, n = at most n threads); 0 when absent.
int32_t NumThreadsConfig(const Ort::ConstKernelInfo& info);

// The element types the operators compute in: fp32 natively, fp16 widened to fp32 in scratch buffers
// (libsparsenative has no fp16 kernels yet). Anything else is refused when the kernel is created.
enum class Element { Float32, Float16 };
const char* TypeName(ONNXTensorElementDataType type);

// One input: absent (data == nullptr) or its element type, shape and data.
struct Tensor {
  const void* data = nullptr;
  ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
  std::vector<int64_t> shape;
  size_t count = 0;
  bool present() const { return data != nullptr || !shape.empty(); }
  int64_t dim(size_t i) const { return shape[i]; }
};

Tensor Input(const Ort::KernelContext& context, size_t index);
// Checks rank (and type); the message names the input.
void RequireRank(const Tensor& t, const char* name, size_t rank);
void RequireType(const Tensor& t, const char* name, ONNXTensorElementDataType type);
// One dimension of an expected shape: exactly `value` (>= 0), or any value in [minimum, 2^31 - 1] (value < 0).
struct Dim {
  const char* what;
  int64_t value;
  int64_t minimum = 0;
};
inline Dim Exactly(const char* what, int64_t value) { return Dim{what, value, value}; }
inline Dim AtLeast(const char* what, int64_t minimum) { return Dim{what, -1, minimum}; }
// Checks two inputs that go together (key and value, past_key and past_value): the type, the shape dimension by
// dimension, and that both shapes are equal; the message names the input and the expected shape.
void RequirePair(const Tensor& a, const char* a_name, const Tensor& b, const char* b_name, ONNXTensorElementDataType type,
                 std::initializer_list<Dim> dims);

// A dimension as int32 (>= minimum); larger values cannot be indexed by libsparsenative.
int32_t Dim32(const Tensor& t, const char* name, size_t index, int64_t minimum);

// Element access for fp32 / fp16 data.
float Load(const void* data, size_t index, Element e);
void Store(void* data, size_t index, Element e, float value);
void LoadRow(const void* data, size_t offset, Element e, float* dst, size_t n);
void StoreRow(void* data, size_t offset, Element e, const float* src, size_t n);

// Block layouts as ORT's SparseAttention takes them: block_row_indices (num_layout, max_blocks + 1) and
// block_col_indices (num_layout, max_nnz), each layout's columns from offset 0 of its own row, padding unread.
struct PaddedLayouts {
  int32_t num_layout = 0;
  int32_t max_blocks = 0;
  int32_t max_nnz = 0;
  const int32_t* rows = nullptr;
  const int32_t* cols = nullptr;
};
// Checks the two tensors' types and shapes (names in messages) and wraps them. Indices are checked where read.
PaddedLayouts ReadLayouts(const Tensor& rows, const char* rows_name, const Tensor& cols, const char* cols_name);

// How a layout row is read.
enum class RowRule {
  // com.microsoft.SparseAttention: causal rows; a row with row + 1 blocks, or every row of a layout that stores at
  // least the whole lower triangle, is read as dense-causal; blocks right of the diagonal are hidden by causality
  // and dropped.
  OrtCausal,
  // BlockSparseAttention: the blocks as stored; columns past this call's key blocks are dropped (keys it lacks).
  AsStored,
};

// One libsparsenative call for the query heads [head0, head0 + heads) of one batch entry that read one K/V head
// (or all heads of a batch entry): the queries at absolute positions [position0, position0 + length) use layout rows
// position / block_size. Queries and outputs are BHSD float scratch [heads, length, head_dim]; k and v hold
// key_length rows [key_length, head_dim] (one KV head). Rows not aligned to a block are split into chunks.
struct GroupCall {
  const PaddedLayouts* layouts = nullptr;
  RowRule rule = RowRule::OrtCausal;
  int32_t block_size = 0;
  int32_t head0 = 0;       // first query head (its layout is head % num_layout)
  int32_t heads = 0;       // query heads in this call (share one KV head unless kv_heads says otherwise)
  int32_t lists = 0;       // layout lists passed (0: one per query head); query head j uses list j % lists
  int32_t batch = 1;       // > 1, kv_heads > 1 or BSHD only for a call whose queries start on a block boundary
  int32_t kv_heads = 1;
  int32_t format = SN_FORMAT_BHSD;
  int32_t length = 0;      // queries in this call
  int32_t position0 = 0;   // absolute position of query 0
  int32_t key_length = 0;  // keys available (k, v rows)
  int32_t head_dim = 0;
  bool causal = true;      // key j visible to the query at position p only if j <= p
  float scale = 0.0f;
  int32_t num_threads = 0;
  const float* q = nullptr;
  const float* k = nullptr;
  const float* v = nullptr;
  float* out = nullptr;
  float* lse = nullptr;                   // [heads, length] or null
  const int32_t* key_segment_ids = nullptr;  // [key_length] (0 = key kept, 1 = padding) or null
};
void RunGroup(const char* op, const GroupCall& call);

}  // namespace sno

#include "sno_common_inl.h"
