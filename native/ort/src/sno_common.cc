#include "sno_common.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace sno {

const char* const kDomain = "ai.sparsenative";

void Fail(const std::string& message, OrtErrorCode code) { throw OpError{message, code}; }

OrtStatusPtr MakeStatus(const char* op, const std::string& node, OrtErrorCode code, const std::string& message) noexcept {
  try {
    std::string text = std::string(op) + " node '" + node + "': " + message;
    return Ort::GetApi().CreateStatus(code, text.c_str());
  } catch (...) {
    return Ort::GetApi().CreateStatus(ORT_FAIL, "SparseNative: out of memory while reporting an error");
  }
}

namespace {
// Whether the node carries the attribute at all (ORT reports a missing one as ORT_FAIL with its own text).
bool HasAttribute(const Ort::ConstKernelInfo& info, const char* name) {
  size_t size = 0;
  OrtStatus* status = Ort::GetApi().KernelInfoGetAttribute_string(info, name, nullptr, &size);
  if (status == nullptr) return true;
  std::string message = Ort::GetApi().GetErrorMessage(status);
  Ort::GetApi().ReleaseStatus(status);
  // A non-string attribute of that name reports a type mismatch, not absence.
  return message.find("No attribute with name") == std::string::npos &&
         message.find("No attribute with this name") == std::string::npos;
}
}  // namespace

int64_t IntAttribute(const Ort::ConstKernelInfo& info, const char* name, const int64_t* default_value) {
  if (!HasAttribute(info, name)) {
    if (default_value == nullptr) Fail(std::string("attribute '") + name + "' is required");
    return *default_value;
  }
  int64_t value = 0;
  OrtStatus* status = Ort::GetApi().KernelInfoGetAttribute_int64(info, name, &value);
  if (status != nullptr) {
    std::string message = Ort::GetApi().GetErrorMessage(status);
    Ort::GetApi().ReleaseStatus(status);
    Fail(std::string("attribute '") + name + "' must be an integer: " + message);
  }
  return value;
}

float FloatAttribute(const Ort::ConstKernelInfo& info, const char* name, float default_value) {
  if (!HasAttribute(info, name)) return default_value;
  float value = 0;
  OrtStatus* status = Ort::GetApi().KernelInfoGetAttribute_float(info, name, &value);
  if (status != nullptr) {
    std::string message = Ort::GetApi().GetErrorMessage(status);
    Ort::GetApi().ReleaseStatus(status);
    Fail(std::string("attribute '") + name + "' must be a float: " + message);
  }
  return value;
}

int32_t NumThreadsConfig(const Ort::ConstKernelInfo& info) {
  Ort::KeyValuePairs entries = info.GetConfigEntries();
  const char* text = entries.GetValue("sparsenative.num_threads");
  if (text == nullptr || *text == 0) return 0;
  char* end = nullptr;
  const long n = std::strtol(text, &end, 10);
  if (*end != 0 || n < 0 || n > 4096)
    Fail(std::string("session config 'sparsenative.num_threads' = '") + text + "': must be an integer in [0, 4096]");
  return static_cast<int32_t>(n);
}

const char* TypeName(ONNXTensorElementDataType type) {
  switch (type) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: return "float32";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16: return "float16";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16: return "bfloat16";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE: return "float64";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8: return "int8";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8: return "uint8";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16: return "int16";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32: return "int32";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64: return "int64";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL: return "bool";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING: return "string";
    default: return "an unsupported element type";
  }
}

Tensor Input(const Ort::KernelContext& context, size_t index) {
  Tensor t;
  if (index >= context.GetInputCount()) return t;
  Ort::ConstValue value = context.GetInput(index);
  if (value == nullptr) return t;
  auto info = value.GetTensorTypeAndShapeInfo();
  t.type = info.GetElementType();
  t.shape = info.GetShape();
  t.count = info.GetElementCount();
  t.data = value.GetTensorRawData();
  if (t.shape.empty()) t.shape.clear();  // a scalar: rank 0
  return t;
}

void RequireRank(const Tensor& t, const char* name, size_t rank) {
  if (t.shape.size() != rank) {
    std::ostringstream s;
    s << "input '" << name << "' must have rank " << rank << ", got rank " << t.shape.size();
    Fail(s.str());
  }
}

void RequireType(const Tensor& t, const char* name, ONNXTensorElementDataType type) {
  if (t.type != type)
    Fail(std::string("input '") + name + "' must be " + TypeName(type) + ", got " + TypeName(t.type));
}

void RequirePair(const Tensor& a, const char* a_name, const Tensor& b, const char* b_name, ONNXTensorElementDataType type,
                 std::initializer_list<Dim> dims) {
  for (auto [t, name] : {std::pair<const Tensor*, const char*>{&a, a_name}, {&b, b_name}}) {
    RequireType(*t, name, type);
    RequireRank(*t, name, dims.size());
    size_t i = 0;
    bool ok = true;
    for (const Dim& d : dims) {
      const int64_t v = t->shape[i++];
      ok = ok && (d.value >= 0 ? v == d.value : v >= d.minimum && v <= INT32_MAX);
    }
    if (ok) continue;
    std::ostringstream s;
    s << "input '" << name << "' shape (";
    for (size_t j = 0; j < t->shape.size(); ++j) s << (j ? ", " : "") << t->shape[j];
    s << "): must be (";
    i = 0;
    for (const Dim& d : dims) {
      s << (i++ ? ", " : "") << d.what;
      if (d.value >= 0) s << " " << d.value;
      else s << " >= " << d.minimum;
    }
    s << ")";
    Fail(s.str());
  }
  if (a.shape != b.shape) Fail(std::string("inputs '") + a_name + "' and '" + b_name + "' must have the same shape");
}

int32_t Dim32(const Tensor& t, const char* name, size_t index, int64_t minimum) {
  int64_t v = t.shape[index];
  if (v < minimum || v > INT32_MAX) {
    std::ostringstream s;
    s << "input '" << name << "' dimension " << index << " = " << v << ": must be in [" << minimum << ", " << INT32_MAX << "]";
    Fail(s.str());
  }
  return static_cast<int32_t>(v);
}

float Load(const void* data, size_t index, Element e) {
  if (e == Element::Float32) return static_cast<const float*>(data)[index];
  return Ort::Float16_t::FromBits(static_cast<const uint16_t*>(data)[index]).ToFloat();
}

void Store(void* data, size_t index, Element e, float value) {
  if (e == Element::Float32) {
    static_cast<float*>(data)[index] = value;
  } else {
    static_cast<uint16_t*>(data)[index] = Ort::Float16_t(value).val;
  }
}

void LoadRow(const void* data, size_t offset, Element e, float* dst, size_t n) {
  if (e == Element::Float32) {
    std::memcpy(dst, static_cast<const float*>(data) + offset, n * sizeof(float));
    return;
  }
  for (size_t i = 0; i < n; ++i) dst[i] = Load(data, offset + i, e);
}

void StoreRow(void* data, size_t offset, Element e, const float* src, size_t n) {
  if (e == Element::Float32) {
    std::memcpy(static_cast<float*>(data) + offset, src, n * sizeof(float));
    return;
  }
  for (size_t i = 0; i < n; ++i) Store(data, offset + i, e, src[i]);
}

PaddedLayouts ReadLayouts(const Tensor& rows, const char* rows_name, const Tensor& cols, const char* cols_name) {
  if (!rows.present()) Fail(std::string("input '") + rows_name + "' is required");
  if (!cols.present()) Fail(std::string("input '") + cols_name + "' is required");
  RequireType(rows, rows_name, ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32);
  RequireType(cols, cols_name, ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32);
  RequireRank(rows, rows_name, 2);
  RequireRank(cols, cols_name, 2);
  PaddedLayouts l;
  l.num_layout = Dim32(rows, rows_name, 0, 1);
  l.max_blocks = Dim32(rows, rows_name, 1, 2) - 1;
  l.max_nnz = Dim32(cols, cols_name, 1, 0);
  if (cols.shape[0] != rows.shape[0]) {
    std::ostringstream s;
    s << "input '" << cols_name << "' dimension 0 = " << cols.shape[0] << ": must equal num_layout = " << l.num_layout
      << " (dimension 0 of '" << rows_name << "')";
    Fail(s.str());
  }
  l.rows = static_cast<const int32_t*>(rows.data);
  l.cols = static_cast<const int32_t*>(cols.data);
  return l;
}

namespace {

// The sn_layout of one chunk: one list per query head of the call, rows [row0, row0 + query_blocks).
struct LayoutSlice {
  std::vector<int32_t> offsets;
  std::vector<int32_t> cols;
  sn_layout layout{};
};

void SliceLayouts(const GroupCall& c, int32_t row0, int32_t query_blocks, int32_t key_blocks, LayoutSlice& slice) {
  const PaddedLayouts& L = *c.layouts;
  const int64_t stride = static_cast<int64_t>(L.max_blocks) + 1;
  if (static_cast<int64_t>(row0) + query_blocks > L.max_blocks) {
    std::ostringstream s;
    s << "the query at position " << (static_cast<int64_t>(row0 + query_blocks) * c.block_size - 1)
      << " needs layout row " << (row0 + query_blocks - 1) << ", but block_row_indices describes max_blocks = "
      << L.max_blocks << " rows (dimension 1 - 1)";
    Fail(s.str());
  }
  const int32_t lists = c.lists > 0 ? c.lists : c.heads;
  slice.offsets.assign(static_cast<size_t>(lists) * (query_blocks + 1), 0);
  slice.cols.clear();
  for (int32_t j = 0; j < lists; ++j) {
    const int32_t l = (c.head0 + j) % L.num_layout;
    const int32_t* rows = L.rows + l * stride;
    const int32_t* cols = L.cols + static_cast<int64_t>(l) * L.max_nnz;
    const int64_t lower_triangle = static_cast<int64_t>(L.max_blocks) * (L.max_blocks + 1) / 2;
    const bool dense_layout = c.rule == RowRule::OrtCausal && rows[L.max_blocks] >= lower_triangle;
    const size_t base = slice.cols.size();
    int32_t* offsets = &slice.offsets[static_cast<size_t>(j) * (query_blocks + 1)];
    for (int32_t q = 0; q < query_blocks; ++q) {
      const int32_t r = row0 + q;
      const int32_t a = rows[r], b = rows[r + 1];
      if (a < 0 || b < a || b > L.max_nnz) {
        std::ostringstream s;
        s << "block_row_indices[" << l << "][" << r << ".." << (r + 1) << "] = " << a << ", " << b
          << ": a layout's row offsets must not decrease and must lie in [0, max_nnz = " << L.max_nnz << "]";
        Fail(s.str());
      }
      if (c.rule == RowRule::OrtCausal && (dense_layout || b - a == r + 1)) {
        for (int32_t col = 0; col <= r && col < key_blocks; ++col) slice.cols.push_back(col);
      } else {
        for (int32_t i = a; i < b; ++i) {
          const int32_t col = cols[i];
          if (col >= L.max_blocks) {
            std::ostringstream s;
            s << "block_col_indices[" << l << "][" << i << "] = " << col << ": must be < max_blocks = " << L.max_blocks;
            Fail(s.str());
          }
          // Blocks right of the diagonal hold only later keys (hidden by causality); blocks past the call's keys
          // hold keys it does not have. Everything else goes to libsparsenative, which validates the lists.
          if (c.rule == RowRule::OrtCausal ? col > r : col >= key_blocks) continue;
          slice.cols.push_back(col);
        }
      }
      offsets[q + 1] = static_cast<int32_t>(slice.cols.size() - base);
    }
  }
  slice.layout.block_size = c.block_size;
  slice.layout.query_blocks = query_blocks;
  slice.layout.key_blocks = key_blocks;
  slice.layout.num_layouts = lists;
  slice.layout.num_col_indices = static_cast<int32_t>(slice.cols.size());
  slice.layout.reserved = 0;
  slice.layout.row_offsets = slice.offsets.data();
  slice.layout.col_indices = slice.cols.empty() ? nullptr : slice.cols.data();
}

[[noreturn]] void FailNative(const char* op, sn_status status) {
  const OrtErrorCode code = status == SN_UNSUPPORTED ? ORT_NOT_IMPLEMENTED
                            : (status == SN_OUT_OF_MEMORY || status == SN_INTERNAL) ? ORT_FAIL
                                                                                    : ORT_INVALID_ARGUMENT;
  Fail(std::string(op) + " (libsparsenative " + sn_status_name(status) + "): " + sn_last_error(), code);
}

}  // namespace

void RunGroup(const char* op, const GroupCall& c) {
  const size_t d = static_cast<size_t>(c.head_dim);
  const int32_t bs = c.block_size;
  LayoutSlice slice;
  std::vector<float> qbuf, obuf, lbuf;
  std::vector<int32_t> query_ids;
  for (int32_t start = 0; start < c.length;) {
    const int64_t position = static_cast<int64_t>(c.position0) + start;
    int32_t end = c.length;
    if (position % bs != 0) end = std::min<int32_t>(c.length, start + static_cast<int32_t>(bs - position % bs));
    const int32_t n = end - start;
    const int64_t keys = c.causal ? static_cast<int64_t>(c.position0) + end : c.key_length;
    if (keys > c.key_length || keys < 1) {
      std::ostringstream s;
      s << "the queries at positions " << position << ".." << (c.position0 + end - 1) << " need " << keys
        << " keys, but " << c.key_length << " are available";
      Fail(s.str());
    }
    const int32_t key_blocks = static_cast<int32_t>((keys + bs - 1) / bs);
    SliceLayouts(c, static_cast<int32_t>(position / bs), (n + bs - 1) / bs, key_blocks, slice);

    // The whole call in one piece reads and writes the caller's buffers; a chunk gathers its rows.
    const bool whole = start == 0 && end == c.length;
    if (!whole && (c.batch != 1 || c.kv_heads != 1 || c.format != SN_FORMAT_BHSD))
      Fail("internal: a batched call must start on a block boundary", ORT_FAIL);
    const float* q = c.q;
    float* out = c.out;
    float* lse = c.lse;
    if (!whole) {
      qbuf.resize(static_cast<size_t>(c.heads) * n * d);
      obuf.resize(qbuf.size());
      lbuf.resize(static_cast<size_t>(c.heads) * n);
      for (int32_t j = 0; j < c.heads; ++j)
        std::memcpy(&qbuf[static_cast<size_t>(j) * n * d], c.q + (static_cast<size_t>(j) * c.length + start) * d,
                    static_cast<size_t>(n) * d * sizeof(float));
      q = qbuf.data();
      out = obuf.data();
      lse = c.lse ? lbuf.data() : nullptr;
    }

    sn_problem p{};
    p.batch = c.batch;
    p.query_heads = c.heads;
    p.kv_heads = c.kv_heads;
    p.query_length = n;
    p.key_length = static_cast<int32_t>(keys);
    p.head_dim = c.head_dim;
    p.format = c.format;
    // Like every ORT kernel, values are not refused: a non-finite input gives non-finite outputs in its rows.
    p.flags = (c.causal ? SN_FLAG_CAUSAL : 0) | SN_FLAG_ALLOW_NON_FINITE;
    p.scale = c.scale;
    p.num_threads = c.num_threads;
    if (c.key_segment_ids) {
      query_ids.assign(static_cast<size_t>(c.batch) * n, 0);
      p.query_segment_ids = query_ids.data();
      p.key_segment_ids = c.key_segment_ids;
    }
    const size_t qn = static_cast<size_t>(c.batch) * c.heads * n * d;
    const size_t kn = static_cast<size_t>(c.batch) * c.kv_heads * static_cast<size_t>(keys) * d;
    sn_status status = sn_attention_forward(&p, &slice.layout, q, qn, c.k, kn, c.v, kn, out, qn, lse,
                                            lse ? static_cast<size_t>(c.batch) * c.heads * n : 0);
    if (status != SN_OK) FailNative(op, status);

    if (!whole) {
      for (int32_t j = 0; j < c.heads; ++j) {
        std::memcpy(c.out + (static_cast<size_t>(j) * c.length + start) * d, &obuf[static_cast<size_t>(j) * n * d],
                    static_cast<size_t>(n) * d * sizeof(float));
        if (c.lse)
          std::memcpy(c.lse + static_cast<size_t>(j) * c.length + start, &lbuf[static_cast<size_t>(j) * n],
                      static_cast<size_t>(n) * sizeof(float));
      }
    }
    start = end;
  }
}

}  // namespace sno
