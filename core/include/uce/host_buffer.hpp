// host_buffer.hpp — the buffer slots of a backend that computes on host memory (the reference
// backend, BLAS), header-only so plugins share it without linking the core. Each backend keeps
// its own slot functions and forwards to these with its name, for its error messages.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "uce/uce_plugin.h"

namespace uce::host_buffer {

struct Buffer {
  void* data = nullptr;
  size_t bytes = 0;
  bool owned = false;  // false for buffer_from_host: the caller's memory
};

constexpr size_t kAlignment = 64;

inline Buffer* of(uce_buffer* handle) { return reinterpret_cast<Buffer*>(handle); }

inline uce_status fail(uce_error* err, uce_status code, const char* backend, const std::string& text) {
  if (err) std::snprintf(err->message, sizeof(err->message), "%s: %s", backend, text.c_str());
  return code;
}

inline uce_status alloc(const char* backend, size_t bytes, uce_buffer** out, uce_error* err) {
  if (!out) return fail(err, UCE_ERR_INVALID_ARGUMENT, backend, "buffer_alloc: out is NULL");
  const size_t rounded = ((bytes ? bytes : 1) + kAlignment - 1) / kAlignment * kAlignment;
  void* data = std::aligned_alloc(kAlignment, rounded);
  if (!data)
    return fail(err, UCE_ERR_OUT_OF_MEMORY, backend, "buffer_alloc: cannot allocate " + std::to_string(bytes) + " bytes");
  auto* buf = new (std::nothrow) Buffer{data, bytes, true};
  if (!buf) {
    std::free(data);
    return fail(err, UCE_ERR_OUT_OF_MEMORY, backend, "buffer_alloc: out of memory");
  }
  *out = reinterpret_cast<uce_buffer*>(buf);
  return UCE_OK;
}

inline uce_status wrap(const char* backend, void* ptr, size_t bytes, uce_buffer** out, uce_error* err) {
  if (!out || (!ptr && bytes)) return fail(err, UCE_ERR_INVALID_ARGUMENT, backend, "buffer_from_host: NULL pointer");
  auto* buf = new (std::nothrow) Buffer{ptr, bytes, false};
  if (!buf) return fail(err, UCE_ERR_OUT_OF_MEMORY, backend, "buffer_from_host: out of memory");
  *out = reinterpret_cast<uce_buffer*>(buf);
  return UCE_OK;
}

inline void release(uce_buffer* handle) {
  Buffer* b = of(handle);
  if (!b) return;
  if (b->owned) std::free(b->data);
  delete b;
}

inline void* host_ptr(uce_buffer* handle) { return handle ? of(handle)->data : nullptr; }

inline bool in_bounds(const Buffer* b, size_t offset, size_t bytes) {
  return b && offset <= b->bytes && bytes <= b->bytes - offset;
}

inline uce_status out_of_range(const char* backend, const char* what, size_t offset, size_t bytes, uce_error* err) {
  return fail(err, UCE_ERR_INVALID_ARGUMENT, backend,
              std::string(what) + ": range [" + std::to_string(offset) + "," + std::to_string(offset + bytes) +
                  ") outside the buffer");
}

inline uce_status write(const char* backend, uce_buffer* handle, size_t offset, const void* src, size_t bytes,
                        uce_error* err) {
  Buffer* b = of(handle);
  if (!in_bounds(b, offset, bytes)) return out_of_range(backend, "buffer_write", offset, bytes, err);
  if (bytes) std::memcpy(static_cast<char*>(b->data) + offset, src, bytes);
  return UCE_OK;
}

inline uce_status read(const char* backend, uce_buffer* handle, size_t offset, void* dst, size_t bytes, uce_error* err) {
  Buffer* b = of(handle);
  if (!in_bounds(b, offset, bytes)) return out_of_range(backend, "buffer_read", offset, bytes, err);
  if (bytes) std::memcpy(dst, static_cast<const char*>(b->data) + offset, bytes);
  return UCE_OK;
}

}  // namespace uce::host_buffer
