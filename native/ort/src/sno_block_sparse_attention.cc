// ai.sparsenative BlockSparseAttention: block-sparse attention on libsparsenative with the layout as inputs.
//
//  inputs   0 query (B, Sq, Nq*H), 1 key (B, Sk, Nkv*H), 2 value (B, Sk, Nkv*H)
//           3 past_key, 4 past_value (B, Nkv, P, H)                     optional (both or neither)
//           5 block_row_offsets int32 (num_layout, max_query_blocks + 1), 6 block_col_indices int32 (num_layout, max_nnz):
//             per layout a CSR over the block grid, its columns from offset 0 of its own row (padding unread)
//           7 key_padding_mask int32 or int64 (B, P + Sk)                optional: 0 = padding, never attended
//  outputs  0 output (B, Sq, Nq*H), 1 present_key, 2 present_value (B, Nkv, P + Sk, H) optional,
//           3 lse float32 (B, Nq, Sq) optional (natural-log log-sum-exp; -inf for a row with no allowed key)
//  attributes num_heads, kv_num_heads (default num_heads), block_size, causal (0), scale (0: 1/sqrt(H))
//
// Query t sits at position P + t and uses layout row (P + t) / block_size of layout h % num_layout; a shorter input
// uses the top-left part of the grid (columns past its key blocks are dropped). With causal = 1, the key at position
// j is visible to the query at position p only if j <= p.
#include <cmath>
#include <cstring>
#include <sstream>

#include "sno_ops.h"

namespace sno {

namespace {
constexpr const char* kOp = "BlockSparseAttention";
enum Inputs { kQuery, kKey, kValue, kPastKey, kPastValue, kRows, kCols, kMask };
}  // namespace

ONNXTensorElementDataType BlockSparseAttentionOp::T() const { return OnnxType(element); }

ONNXTensorElementDataType BlockSparseAttentionOp::GetInputType(size_t index) const {
  // The padding mask may be int32 or int64 (checked per run).
  return index == kRows || index == kCols ? ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32
         : index == kMask                 ? ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED
                                          : T();
}

OrtCustomOpInputOutputCharacteristic BlockSparseAttentionOp::GetInputCharacteristic(size_t index) const {
  return index == kPastKey || index == kPastValue || index == kMask ? INPUT_OUTPUT_OPTIONAL : INPUT_OUTPUT_REQUIRED;
}

ONNXTensorElementDataType BlockSparseAttentionOp::GetOutputType(size_t index) const {
  return index == 3 ? ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT : T();
}

OrtCustomOpInputOutputCharacteristic BlockSparseAttentionOp::GetOutputCharacteristic(size_t index) const {
  return index == 0 ? INPUT_OUTPUT_REQUIRED : INPUT_OUTPUT_OPTIONAL;
}

OrtStatusPtr BlockSparseAttentionOp::CreateKernelV2(const OrtApi&, const OrtKernelInfo* raw, void** kernel) const noexcept {
  std::string node;
  return Guard(kOp, node, [&] {
    Ort::ConstKernelInfo info(raw);
    node = info.GetNodeName();
    auto k = std::make_unique<BlockSparseAttentionKernel>();
    k->node = node;
    HeadAttributes(info, false, k->num_heads, k->kv_num_heads);
    k->block_size = BlockSizeAttribute(info, "block_size");
    k->scale = FloatAttribute(info, "scale", 0.0f);
    if (!std::isfinite(k->scale)) Fail("attribute 'scale' must be finite");
    const int64_t zero = 0;
    const int64_t causal = IntAttribute(info, "causal", &zero);
    if (causal != 0 && causal != 1) Fail("attribute 'causal' = " + std::to_string(causal) + ": must be 0 or 1");
    k->causal = causal == 1;
    k->element = element;
    k->num_threads = NumThreadsConfig(info);
    *kernel = k.release();
  });
}

OrtStatusPtr BlockSparseAttentionKernel::ComputeV2(OrtKernelContext* context) noexcept {
  return Guard(kOp, node, [&] { Compute(context); });
}

void BlockSparseAttentionKernel::Compute(OrtKernelContext* raw) {
  Ort::KernelContext context(raw);
  const ONNXTensorElementDataType t_type = OnnxType(element);
  Tensor query = Input(context, kQuery), key = Input(context, kKey), value = Input(context, kValue);
  Tensor past_key = Input(context, kPastKey), past_value = Input(context, kPastValue), mask = Input(context, kMask);
  const PaddedLayouts layouts = ReadLayouts(Input(context, kRows), "block_row_offsets", Input(context, kCols), "block_col_indices");

  RequireType(query, "query", t_type);
  RequireRank(query, "query", 3);
  const int32_t batch = Dim32(query, "query", 0, 1), length = Dim32(query, "query", 1, 1);
  if (query.dim(2) <= 0 || query.dim(2) % num_heads != 0)
    Fail("input 'query' dimension 2 = " + std::to_string(query.dim(2)) + ": must be a positive multiple of num_heads = " +
         std::to_string(num_heads));
  const int64_t head64 = query.dim(2) / num_heads;
  if (head64 > 65536) Fail("head_size = " + std::to_string(head64) + ": at most 65536");
  const int32_t head = static_cast<int32_t>(head64);
  RequirePair(key, "key", value, "value", t_type,
              {Exactly("batch", batch), AtLeast("key sequence", 1), Exactly("kv_num_heads * head_size", int64_t{kv_num_heads} * head)});
  const int32_t new_keys = static_cast<int32_t>(key.dim(1));
  if (past_key.present() != past_value.present()) Fail("inputs 'past_key' and 'past_value' must both be present or both absent");
  int32_t past = 0;
  if (past_key.present()) {
    RequirePair(past_key, "past_key", past_value, "past_value", t_type,
                {Exactly("batch", batch), Exactly("kv_num_heads", kv_num_heads), AtLeast("past length", 0), Exactly("head_size", head)});
    past = static_cast<int32_t>(past_key.dim(2));
  }
  const int64_t keys64 = int64_t{past} + new_keys;
  if (keys64 > INT32_MAX) Fail("past length + key sequence length exceeds 2^31 - 1");
  const int32_t keys = static_cast<int32_t>(keys64);
  // Causal queries are the last of the key sequence: query t sits at position keys - length + t.
  const int64_t position0 = causal ? keys64 - length : past;
  if (causal && position0 < 0)
    Fail("causal attention needs at least as many keys (" + std::to_string(keys) + ") as queries (" + std::to_string(length) + ")");
  if (num_heads % layouts.num_layout != 0)
    Fail("block_row_offsets dimension 0 (num_layout) = " + std::to_string(layouts.num_layout) + ": must divide num_heads = " +
         std::to_string(num_heads));

  std::vector<int32_t> segments;
  if (mask.present()) {
    RequireRank(mask, "key_padding_mask", 2);
    if (mask.dim(0) != batch || mask.dim(1) != keys)
      Fail("input 'key_padding_mask' shape (" + std::to_string(mask.dim(0)) + ", " + std::to_string(mask.dim(1)) +
           "): must be (batch " + std::to_string(batch) + ", past + key length " + std::to_string(keys) + ")");
    if (mask.type != ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32 && mask.type != ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64)
      Fail(std::string("input 'key_padding_mask' must be int32 or int64, got ") + TypeName(mask.type));
    segments.resize(static_cast<size_t>(batch) * keys);
    for (size_t i = 0; i < segments.size(); ++i) {
      const int64_t m = mask.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32 ? static_cast<const int32_t*>(mask.data)[i]
                                                                         : static_cast<const int64_t*>(mask.data)[i];
      segments[i] = m != 0 ? 0 : 1;
    }
  }

  const size_t d = static_cast<size_t>(head);
  Ort::UnownedValue output = context.GetOutput(0, {batch, length, int64_t{num_heads} * head});
  void* out_data = output.GetTensorMutableRawData();
  const std::vector<int64_t> cache_shape{batch, kv_num_heads, keys, head};
  void* present_k = nullptr;
  void* present_v = nullptr;
  if (context.GetOutputCount() > 1) {
    Ort::UnownedValue pk = context.GetOutput(1, cache_shape);
    if (pk != nullptr) present_k = pk.GetTensorMutableRawData();
  }
  if (context.GetOutputCount() > 2) {
    Ort::UnownedValue pv = context.GetOutput(2, cache_shape);
    if (pv != nullptr) present_v = pv.GetTensorMutableRawData();
  }
  float* lse = nullptr;
  if (context.GetOutputCount() > 3) {
    Ort::UnownedValue l = context.GetOutput(3, {batch, num_heads, length});
    if (l != nullptr) lse = l.GetTensorMutableData<float>();
  }

  // What every call of this run shares.
  GroupCall base;
  base.layouts = &layouts;
  base.rule = RowRule::AsStored;
  base.block_size = block_size;
  base.length = length;
  base.position0 = static_cast<int32_t>(position0);
  base.key_length = keys;
  base.head_dim = head;
  base.causal = causal;
  base.scale = ResolvedScale(scale, head);
  base.num_threads = num_threads;
  // Without a cache, in fp32, with the queries on a block boundary: one call over the tensors as they are (BSHD).
  if (past == 0 && element == Element::Float32 && position0 % block_size == 0) {
    GroupCall call = base;
    call.heads = num_heads;
    call.lists = layouts.num_layout;
    call.batch = batch;
    call.kv_heads = kv_num_heads;
    call.format = SN_FORMAT_BSHD;
    call.q = static_cast<const float*>(query.data);
    call.k = static_cast<const float*>(key.data);
    call.v = static_cast<const float*>(value.data);
    call.out = static_cast<float*>(out_data);
    call.lse = lse;
    call.key_segment_ids = segments.empty() ? nullptr : segments.data();
    RunGroup(kOp, call);
    if (present_k || present_v) {
      // present is BHSD: transpose the new keys and values into it.
      for (int32_t b = 0; b < batch; ++b)
        for (int32_t g = 0; g < kv_num_heads; ++g)
          for (int32_t s = 0; s < new_keys; ++s) {
            const size_t from = (static_cast<size_t>(b) * new_keys + s) * kv_num_heads * d + g * d;
            const size_t to = ((static_cast<size_t>(b) * kv_num_heads + g) * keys + s) * d;
            if (present_k) std::memcpy(static_cast<float*>(present_k) + to, static_cast<const float*>(key.data) + from, d * sizeof(float));
            if (present_v) std::memcpy(static_cast<float*>(present_v) + to, static_cast<const float*>(value.data) + from, d * sizeof(float));
          }
    }
    return;
  }

  // Otherwise one call per (batch entry, KV head): its keys and values (past, then new) and its query heads in fp32
  // scratch (float16 widened).
  const int32_t group = num_heads / kv_num_heads;
  std::vector<float> q(static_cast<size_t>(group) * length * d), out(q.size()), kbuf(static_cast<size_t>(keys) * d),
      vbuf(kbuf.size());
  for (int32_t b = 0; b < batch; ++b)
    for (int32_t g = 0; g < kv_num_heads; ++g) {
      const size_t cache = (static_cast<size_t>(b) * kv_num_heads + g) * keys * d;
      if (past > 0) {
        const size_t from = (static_cast<size_t>(b) * kv_num_heads + g) * past * d;
        LoadRow(past_key.data, from, element, kbuf.data(), static_cast<size_t>(past) * d);
        LoadRow(past_value.data, from, element, vbuf.data(), static_cast<size_t>(past) * d);
      }
      for (int32_t s = 0; s < new_keys; ++s) {
        const size_t from = (static_cast<size_t>(b) * new_keys + s) * kv_num_heads * d + g * d;
        LoadRow(key.data, from, element, &kbuf[(static_cast<size_t>(past) + s) * d], d);
        LoadRow(value.data, from, element, &vbuf[(static_cast<size_t>(past) + s) * d], d);
      }
      if (present_k) StoreRow(present_k, cache, element, kbuf.data(), kbuf.size());
      if (present_v) StoreRow(present_v, cache, element, vbuf.data(), vbuf.size());
      for (int32_t j = 0; j < group; ++j)
        for (int32_t s = 0; s < length; ++s)
          LoadRow(query.data, (static_cast<size_t>(b) * length + s) * num_heads * d + (static_cast<size_t>(g) * group + j) * d,
                  element, &q[(static_cast<size_t>(j) * length + s) * d], d);
      GroupCall call = base;
      call.head0 = g * group;
      call.heads = group;
      call.q = q.data();
      call.k = kbuf.data();
      call.v = vbuf.data();
      call.out = out.data();
      // lse is [B, Nq, Sq]: this group's heads are contiguous there.
      call.lse = lse ? lse + (static_cast<size_t>(b) * num_heads + static_cast<size_t>(g) * group) * length : nullptr;
      call.key_segment_ids = segments.empty() ? nullptr : &segments[static_cast<size_t>(b) * keys];
      RunGroup(kOp, call);
      for (int32_t j = 0; j < group; ++j)
        for (int32_t s = 0; s < length; ++s)
          StoreRow(out_data, (static_cast<size_t>(b) * length + s) * num_heads * d + (static_cast<size_t>(g) * group + j) * d,
                   element, &out[(static_cast<size_t>(j) * length + s) * d], d);
    }
}

}  // namespace sno
