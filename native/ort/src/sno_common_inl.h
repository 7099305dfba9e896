// Guard's template body (included by sno_common.h).
#pragma once

#include <exception>
#include <new>

namespace sno {

template <class Body>
OrtStatusPtr Guard(const char* op, const std::string& node, Body&& body) noexcept {
  try {
    body();
    return nullptr;
  } catch (const OpError& e) {
    return MakeStatus(op, node, e.code, e.message);
  } catch (const Ort::Exception& e) {
    return MakeStatus(op, node, e.GetOrtErrorCode(), e.what());
  } catch (const std::bad_alloc&) {
    return MakeStatus(op, node, ORT_FAIL, "out of memory");
  } catch (const std::exception& e) {
    return MakeStatus(op, node, ORT_FAIL, e.what());
  } catch (...) {
    return MakeStatus(op, node, ORT_FAIL, "unknown error");
  }
}

}  // namespace sno
