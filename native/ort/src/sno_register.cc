// The entry points of libsparsenative_ort: RegisterCustomOps (what ONNX Runtime calls when the library is registered
// with a session) and the self-description SparseNative's loader checks before using the file (sno_abi_version,
// sno_struct_layout, sno_build_info, as libsparsenative's sn_* ones).
#include <mutex>

#include "sno_ops.h"

#define SNO_API extern "C" __attribute__((visibility("default")))

// The version of this library's binary interface (RegisterCustomOps and the ops' contracts).
#define SNO_ABI_VERSION 1

namespace {
// Each op once per element type; ORT dispatches on the query's type and refuses any other type when the session is
// created ("Type Error: Type (tensor(double)) of input parameter (query) ... is invalid").
sno::SparseAttentionOp sparse_attention_f32(sno::Element::Float32), sparse_attention_f16(sno::Element::Float16);
sno::BlockSparseAttentionOp block_sparse_f32(sno::Element::Float32), block_sparse_f16(sno::Element::Float16);
}  // namespace

SNO_API OrtStatus* ORT_API_CALL RegisterCustomOps(OrtSessionOptions* options, const OrtApiBase* api_base) {
  if (api_base == nullptr || options == nullptr) return nullptr;  // nothing to report the error through
  const OrtApi* api = api_base->GetApi(ORT_API_VERSION);
  if (api == nullptr) {
    // An older ONNX Runtime than the headers this library was built with.
    const OrtApi* oldest = api_base->GetApi(16);
    return oldest ? oldest->CreateStatus(ORT_FAIL, "libsparsenative_ort needs ONNX Runtime 1.31 or newer (ORT API version 31)")
                  : nullptr;
  }
  static std::once_flag once;
  std::call_once(once, [api] { Ort::InitApi(api); });
  if (sn_abi_version() != SN_ABI_VERSION)
    return api->CreateStatus(ORT_FAIL, "libsparsenative_ort: the libsparsenative beside it has another ABI version");
  OrtCustomOpDomain* domain = nullptr;
  if (OrtStatus* s = api->CreateCustomOpDomain(sno::kDomain, &domain)) return s;
  for (OrtCustomOp* op : std::initializer_list<OrtCustomOp*>{&sparse_attention_f32, &sparse_attention_f16, &block_sparse_f32,
                                                             &block_sparse_f16})
    if (OrtStatus* s = api->CustomOpDomain_Add(domain, op)) return s;
  // The domain must outlive every session that uses it; like ORT's own example libraries, it is kept for the
  // process (one small object per registration).
  return api->AddCustomOpDomain(options, domain);
}

SNO_API int32_t sno_abi_version(void) { return SNO_ABI_VERSION; }

// The structs this library passes to libsparsenative are libsparsenative's own: it reports them.
SNO_API int32_t sno_struct_layout(int32_t which, int32_t* size, int32_t* offsets, int32_t max_offsets) {
  return sn_struct_layout(which, size, offsets, max_offsets);
}

#define SNO_TEXT(x) SNO_TEXT2(x)
#define SNO_TEXT2(x) #x
SNO_API const char* sno_build_info(void) {
  return "sparsenative_ort abi=" SNO_TEXT(SNO_ABI_VERSION) " ort_api=" SNO_TEXT(ORT_API_VERSION) " domain=ai.sparsenative";
}
