// stage_boundary.hpp — the C ABI edge of a stage plugin: copying size-prefixed option structs,
// writing one-line messages into uce_error, and catching every exception so none crosses.
#pragma once

#include <cstring>
#include <algorithm>
#include <exception>
#include <new>
#include <string>

#include "uce/status.hpp"
#include "uce/uce_stage.h"

namespace uce::stage {

inline void set_error(uce_error* err, const std::string& message) {
  if (!err) return;
  size_t n = std::min(message.size(), sizeof(err->message) - 1);
  for (size_t i = 0; i < n; ++i) {
    char c = message[i];
    err->message[i] = (c == '\n' || c == '\r') ? ' ' : c;  // one line
  }
  err->message[n] = '\0';
}

// Copies the caller's struct (which may be older/smaller) into a zeroed struct of ours.
template <typename T>
T copy_options(const T* in) {
  T out;
  std::memset(&out, 0, sizeof(out));
  if (in) std::memcpy(&out, in, std::min<size_t>(in->struct_size ? in->struct_size : sizeof(T), sizeof(T)));
  out.struct_size = sizeof(T);
  return out;
}

// Runs f (returning uce::Status) and maps it to a uce_status; exceptions become messages.
template <typename F>
uce_status guarded(uce_error* err, uce_status fail_code, const char* what, F&& f) {
  try {
    Status st = f();
    if (st) return UCE_OK;
    set_error(err, st.message());
    return fail_code;
  } catch (const std::bad_alloc&) {
    set_error(err, std::string(what) + ": out of memory");
    return UCE_ERR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    set_error(err, std::string(what) + ": internal error: " + e.what());
    return UCE_ERR_INTERNAL;
  } catch (...) {
    set_error(err, std::string(what) + ": internal error");
    return UCE_ERR_INTERNAL;
  }
}

}  // namespace uce::stage
