// ai.sparsenative SparseAttention: com.microsoft.SparseAttention (ORT contrib op, CPU semantics) on libsparsenative.
//
//  inputs   0 query (B, S, Nq*H), or packed QKV (B, S, (Nq + 2*Nkv)*H) when key and value are absent
//           1 key (B, S, Nkv*H), 2 value (B, S, Nkv*H)               optional
//           3 past_key, 4 past_value (B, Nkv, max_cache, H)           shared with present_* (copied when not)
//           5 block_row_indices int32 (num_layout, max_blocks + 1), 6 block_col_indices int32 (num_layout, max_nnz)
//           7 total_sequence_length int32 (1), 8 key_total_sequence_lengths int32 (B)
//           9 cos_cache, 10 sin_cache (max_rotary, rotary_dim / 2)    optional, used when do_rotary = 1
//  outputs  0 output (B, S, Nq*H), 1 present_key, 2 present_value (B, Nkv, max_cache, H)
//  attributes num_heads, kv_num_heads, scale (0: 1/sqrt(H)), sparse_block_size, do_rotary, rotary_interleaved
//
// As ORT's kernel: a prompt (total_sequence_length == S) starts at position 0 for every batch entry; otherwise batch
// entry b's new tokens sit at positions key_total_sequence_lengths[b] - S ..; head h uses layout h % num_layout; the
// queries are causal on top of the block mask. The new (rotated) keys and values are written into the cache.
#include <cmath>
#include <cstring>
#include <sstream>

#include "sno_ops.h"

namespace sno {

namespace {
constexpr const char* kOp = "SparseAttention";

enum Inputs { kQuery, kKey, kValue, kPastKey, kPastValue, kRows, kCols, kTotal, kKeyLengths, kCos, kSin };

// Rotary embedding of one row in place (ORT's RotaryEmbedding: the first rotary_dim channels, halves or pairs).
void Rotate(float* x, const float* cos, const float* sin, int32_t rotary_dim, bool interleaved) {
  const int32_t half = rotary_dim / 2;
  for (int32_t i = 0; i < half; ++i) {
    const int32_t a = interleaved ? 2 * i : i, b = interleaved ? 2 * i + 1 : i + half;
    const float x0 = x[a], x1 = x[b];
    x[a] = x0 * cos[i] - x1 * sin[i];
    x[b] = x0 * sin[i] + x1 * cos[i];
  }
}
}  // namespace

float ResolvedScale(float scale, int32_t head_size) {
  return scale == 0.0f ? 1.0f / std::sqrt(static_cast<float>(head_size)) : scale;
}

void HeadAttributes(const Ort::ConstKernelInfo& info, bool kv_required, int32_t& num_heads, int32_t& kv_num_heads) {
  const int64_t heads = IntAttribute(info, "num_heads", nullptr);
  const int64_t kv = kv_required ? IntAttribute(info, "kv_num_heads", nullptr) : IntAttribute(info, "kv_num_heads", &heads);
  if (heads < 1 || heads > 65536) Fail("attribute 'num_heads' = " + std::to_string(heads) + ": must be in [1, 65536]");
  if (kv < 1 || kv > heads || heads % kv != 0)
    Fail("attribute 'kv_num_heads' = " + std::to_string(kv) + ": must be >= 1 and divide num_heads = " + std::to_string(heads));
  num_heads = static_cast<int32_t>(heads);
  kv_num_heads = static_cast<int32_t>(kv);
}

int32_t BlockSizeAttribute(const Ort::ConstKernelInfo& info, const char* name) {
  const int64_t b = IntAttribute(info, name, nullptr);
  if (b != 16 && b != 32 && b != 64 && b != 128)
    Fail(std::string("attribute '") + name + "' = " + std::to_string(b) + ": must be 16, 32, 64 or 128");
  return static_cast<int32_t>(b);
}

ONNXTensorElementDataType OnnxType(Element e) {
  return e == Element::Float32 ? ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT : ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16;
}

ONNXTensorElementDataType SparseAttentionOp::T() const { return OnnxType(element); }

ONNXTensorElementDataType SparseAttentionOp::GetInputType(size_t index) const {
  return index >= kRows && index <= kKeyLengths ? ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32 : T();
}

OrtCustomOpInputOutputCharacteristic SparseAttentionOp::GetInputCharacteristic(size_t index) const {
  return index == kKey || index == kValue || index == kCos || index == kSin ? INPUT_OUTPUT_OPTIONAL : INPUT_OUTPUT_REQUIRED;
}

OrtStatusPtr SparseAttentionOp::CreateKernelV2(const OrtApi&, const OrtKernelInfo* raw, void** kernel) const noexcept {
  std::string node;
  return Guard(kOp, node, [&] {
    Ort::ConstKernelInfo info(raw);
    node = info.GetNodeName();
    auto k = std::make_unique<SparseAttentionKernel>();
    k->node = node;
    HeadAttributes(info, true, k->num_heads, k->kv_num_heads);
    k->block_size = BlockSizeAttribute(info, "sparse_block_size");
    k->scale = FloatAttribute(info, "scale", 0.0f);
    if (!std::isfinite(k->scale)) Fail("attribute 'scale' must be finite");
    const int64_t zero = 0;
    const int64_t rotary = IntAttribute(info, "do_rotary", &zero), interleaved = IntAttribute(info, "rotary_interleaved", &zero);
    if (rotary != 0 && rotary != 1) Fail("attribute 'do_rotary' = " + std::to_string(rotary) + ": must be 0 or 1");
    if (interleaved != 0 && interleaved != 1)
      Fail("attribute 'rotary_interleaved' = " + std::to_string(interleaved) + ": must be 0 or 1");
    k->do_rotary = rotary == 1;
    k->rotary_interleaved = interleaved == 1;
    k->element = element;
    k->num_threads = NumThreadsConfig(info);
    *kernel = k.release();
  });
}

OrtStatusPtr SparseAttentionKernel::ComputeV2(OrtKernelContext* context) noexcept {
  return Guard(kOp, node, [&] { Compute(context); });
}

void SparseAttentionKernel::Compute(OrtKernelContext* raw) {
  Ort::KernelContext context(raw);
  const ONNXTensorElementDataType t_type = OnnxType(element);
  Tensor query = Input(context, kQuery), key = Input(context, kKey), value = Input(context, kValue);
  Tensor past_key = Input(context, kPastKey), past_value = Input(context, kPastValue);
  Tensor total = Input(context, kTotal), key_lengths = Input(context, kKeyLengths);
  Tensor cos = Input(context, kCos), sin = Input(context, kSin);
  const PaddedLayouts layouts = ReadLayouts(Input(context, kRows), "block_row_indices", Input(context, kCols), "block_col_indices");

  // --- shapes -----------------------------------------------------------------------------------------------
  RequireType(query, "query", t_type);
  RequireRank(query, "query", 3);
  const int32_t batch = Dim32(query, "query", 0, 1), length = Dim32(query, "query", 1, 1);
  const int64_t hidden = query.dim(2);
  const bool packed = !key.present();
  if (packed != !value.present()) Fail("inputs 'key' and 'value' must both be present, or both absent (packed QKV)");
  const int64_t heads_total = packed ? num_heads + 2 * static_cast<int64_t>(kv_num_heads) : num_heads;
  if (hidden <= 0 || hidden % heads_total != 0) {
    std::ostringstream s;
    s << "input 'query' dimension 2 = " << hidden << ": must be a positive multiple of "
      << (packed ? "num_heads + 2 * kv_num_heads = " : "num_heads = ") << heads_total;
    Fail(s.str());
  }
  const int64_t head64 = hidden / heads_total;
  if (head64 % 8 != 0 || head64 > 65536) Fail("head_size = " + std::to_string(head64) + ": must be a multiple of 8 (at most 65536)");
  const int32_t head = static_cast<int32_t>(head64);
  if (!packed) {
    RequirePair(key, "key", value, "value", t_type,
                {Exactly("batch", batch), Exactly("sequence", length), Exactly("kv_num_heads * head_size", int64_t{kv_num_heads} * head)});
  }
  if (!past_key.present() || !past_value.present()) Fail("inputs 'past_key' and 'past_value' are required");
  RequirePair(past_key, "past_key", past_value, "past_value", t_type,
              {Exactly("batch", batch), Exactly("kv_num_heads", kv_num_heads), AtLeast("max_cache_sequence_length", 1),
               Exactly("head_size", head)});
  const int32_t max_cache = static_cast<int32_t>(past_key.dim(2));
  if (!total.present() || total.count != 1 || total.shape.size() > 1)
    Fail("input 'total_sequence_length' must hold exactly one element (a scalar or shape (1))");
  const int32_t total_length = *static_cast<const int32_t*>(total.data);
  const int64_t max_sequence = static_cast<int64_t>(layouts.max_blocks) * block_size;
  if (total_length < length || total_length > max_cache || total_length > max_sequence) {
    std::ostringstream s;
    s << "total_sequence_length = " << total_length << ": must be in [sequence_length " << length << ", min(max_cache_sequence_length "
      << max_cache << ", max_blocks * sparse_block_size " << max_sequence << ")]";
    Fail(s.str());
  }
  if (num_heads % layouts.num_layout != 0)
    Fail("block_row_indices dimension 0 (num_layout) = " + std::to_string(layouts.num_layout) + ": must divide num_heads = " +
         std::to_string(num_heads));
  RequireRank(key_lengths, "key_total_sequence_lengths", 1);
  if (key_lengths.dim(0) != batch)
    Fail("input 'key_total_sequence_lengths' dimension 0 = " + std::to_string(key_lengths.dim(0)) + ": must be batch " +
         std::to_string(batch));
  const int32_t* lengths = static_cast<const int32_t*>(key_lengths.data);
  const bool prompt = total_length == length;
  std::vector<int32_t> past(batch, 0);
  for (int32_t b = 0; b < batch; ++b) {
    if (prompt) continue;  // a prompt starts at 0 in every batch entry (key_total_sequence_lengths is not read)
    if (lengths[b] < length || lengths[b] > total_length) {
      std::ostringstream s;
      s << "key_total_sequence_lengths[" << b << "] = " << lengths[b] << ": must be in [sequence_length " << length
        << ", total_sequence_length " << total_length << "]";
      Fail(s.str());
    }
    past[b] = lengths[b] - length;
  }

  int32_t rotary_dim = 0;
  std::vector<int64_t> positions(static_cast<size_t>(batch) * length);
  if (do_rotary) {
    if (!cos.present() || !sin.present()) Fail("inputs 'cos_cache' and 'sin_cache' are required when do_rotary = 1");
    RequireType(cos, "cos_cache", t_type);
    RequireType(sin, "sin_cache", t_type);
    RequireRank(cos, "cos_cache", 2);
    RequireRank(sin, "sin_cache", 2);
    if (cos.shape != sin.shape) Fail("inputs 'cos_cache' and 'sin_cache' must have the same shape");
    if (head % 16 != 0) Fail("head_size = " + std::to_string(head) + ": must be a multiple of 16 when do_rotary = 1");
    if (cos.dim(1) < 8 || cos.dim(1) % 8 != 0 || cos.dim(1) > head / 2)
      Fail("input 'cos_cache' dimension 1 = " + std::to_string(cos.dim(1)) + ": must be a multiple of 8 in [8, head_size / 2 = " +
           std::to_string(head / 2) + "]");
    rotary_dim = static_cast<int32_t>(cos.dim(1)) * 2;
    // ORT's positions: a prompt 0..S-1; one new token key_total_sequence_lengths[b] - 1; several new tokens after a
    // past (rare) batch entry 0's first position + s for every entry.
    for (int32_t b = 0; b < batch; ++b)
      for (int32_t s = 0; s < length; ++s)
        positions[static_cast<size_t>(b) * length + s] = prompt ? s : length == 1 ? lengths[b] - 1 : int64_t{lengths[0]} - length + s;
    for (int64_t p : positions)
      if (p < 0 || p >= cos.dim(0))
        Fail("rotary position " + std::to_string(p) + ": must be < cos_cache dimension 0 = " + std::to_string(cos.dim(0)));
  }

  // --- outputs: present shares the past buffer (copied into a separate one) ------------------------------------
  Ort::UnownedValue output = context.GetOutput(0, {batch, length, int64_t{num_heads} * head});
  const std::vector<int64_t> cache_shape = past_key.shape;
  Ort::UnownedValue present_key = context.GetOutput(1, cache_shape);
  Ort::UnownedValue present_value = context.GetOutput(2, cache_shape);
  void* out_data = output.GetTensorMutableRawData();
  void* kcache = present_key.GetTensorMutableRawData();
  void* vcache = present_value.GetTensorMutableRawData();
  const size_t elem = element == Element::Float32 ? 4 : 2;
  if (kcache != past_key.data) std::memcpy(kcache, past_key.data, past_key.count * elem);
  if (vcache != past_value.data) std::memcpy(vcache, past_value.data, past_value.count * elem);

  const size_t d = static_cast<size_t>(head);
  const size_t row_stride = static_cast<size_t>(hidden);  // elements per token in query (packed or not)
  const void* cos_data = cos.data;
  const void* sin_data = sin.data;
  std::vector<float> cos_row(rotary_dim / 2), sin_row(rotary_dim / 2);
  auto rotate = [&](float* x, int64_t position) {
    if (!do_rotary) return;
    LoadRow(cos_data, static_cast<size_t>(position) * (rotary_dim / 2), element, cos_row.data(), cos_row.size());
    LoadRow(sin_data, static_cast<size_t>(position) * (rotary_dim / 2), element, sin_row.data(), sin_row.size());
    Rotate(x, cos_row.data(), sin_row.data(), rotary_dim, rotary_interleaved);
  };

  // New keys and values (rotated keys) into the cache at their positions.
  std::vector<float> row(d);
  for (int32_t b = 0; b < batch; ++b)
    for (int32_t g = 0; g < kv_num_heads; ++g)
      for (int32_t s = 0; s < length; ++s) {
        const size_t token = static_cast<size_t>(b) * length + s;
        const size_t k_offset = packed ? token * row_stride + (static_cast<size_t>(num_heads) + g) * d
                                       : token * kv_num_heads * d + g * d;
        const size_t v_offset = packed ? token * row_stride + (static_cast<size_t>(num_heads) + kv_num_heads + g) * d : k_offset;
        const size_t cache = ((static_cast<size_t>(b) * kv_num_heads + g) * max_cache + past[b] + s) * d;
        LoadRow(packed ? query.data : key.data, k_offset, element, row.data(), d);
        rotate(row.data(), positions[token]);
        StoreRow(kcache, cache, element, row.data(), d);
        LoadRow(packed ? query.data : value.data, v_offset, element, row.data(), d);
        StoreRow(vcache, cache, element, row.data(), d);
      }

  // One call per (batch entry, KV head): its query heads gathered (and rotated) into BHSD scratch.
  const int32_t group = num_heads / kv_num_heads;
  const float resolved = ResolvedScale(scale, head);
  std::vector<float> q(static_cast<size_t>(group) * length * d), out(q.size()), kwide, vwide;
  for (int32_t b = 0; b < batch; ++b) {
    const int32_t keys = past[b] + length;
    for (int32_t g = 0; g < kv_num_heads; ++g) {
      for (int32_t j = 0; j < group; ++j)
        for (int32_t s = 0; s < length; ++s) {
          const size_t token = static_cast<size_t>(b) * length + s;
          float* dst = &q[(static_cast<size_t>(j) * length + s) * d];
          LoadRow(query.data, token * row_stride + (static_cast<size_t>(g) * group + j) * d, element, dst, d);
          rotate(dst, positions[token]);
        }
      const size_t cache = (static_cast<size_t>(b) * kv_num_heads + g) * max_cache * d;
      const float* kp;
      const float* vp;
      if (element == Element::Float32) {
        kp = static_cast<const float*>(kcache) + cache;
        vp = static_cast<const float*>(vcache) + cache;
      } else {
        // Interim fp16 path: libsparsenative computes in fp32 only, so the cache rows are widened per call.
        kwide.resize(static_cast<size_t>(keys) * d);
        vwide.resize(kwide.size());
        LoadRow(kcache, cache, element, kwide.data(), kwide.size());
        LoadRow(vcache, cache, element, vwide.data(), vwide.size());
        kp = kwide.data();
        vp = vwide.data();
      }
      GroupCall call;
      call.layouts = &layouts;
      call.rule = RowRule::OrtCausal;
      call.block_size = block_size;
      call.head0 = g * group;
      call.heads = group;
      call.length = length;
      call.position0 = past[b];
      call.key_length = keys;
      call.head_dim = head;
      call.causal = true;
      call.scale = resolved;
      call.num_threads = num_threads;
      call.q = q.data();
      call.k = kp;
      call.v = vp;
      call.out = out.data();
      RunGroup(kOp, call);
      for (int32_t j = 0; j < group; ++j)
        for (int32_t s = 0; s < length; ++s)
          StoreRow(out_data, (static_cast<size_t>(b) * length + s) * num_heads * d + (static_cast<size_t>(g) * group + j) * d,
                   element, &out[(static_cast<size_t>(j) * length + s) * d], d);
    }
  }
}

}  // namespace sno
