// host_tensor.hpp — a tensor held in plain host memory by the op harness: dtype, shape, row
// stride (possibly padded), and its bytes including the padding between rows. The padding is
// filled with the canary pattern, so a backend that ignores stride[0] reads garbage and fails.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "uce/half.hpp"
#include "uce/ops.hpp"
#include "uce/uce_plugin.h"

namespace uce::ops_test {

// Bytes written around and between every tensor's elements (0xDEADBEEF read as f32 is about
// -6e18, as f16 a huge negative number: unmistakable if it leaks into a result).
inline constexpr uint8_t kCanary[4] = {0xEF, 0xBE, 0xAD, 0xDE};

inline void fill_canary(uint8_t* p, size_t n, size_t phase = 0) {
  for (size_t i = 0; i < n; ++i) p[i] = kCanary[(i + phase) % 4];
}
inline bool is_canary(const uint8_t* p, size_t n, size_t phase = 0) {
  for (size_t i = 0; i < n; ++i)
    if (p[i] != kCanary[(i + phase) % 4]) return false;
  return true;
}

struct HostTensor {
  int dtype = UCE_F32;
  int ndim = 2;
  int64_t rows = 0;     // ne[0] (the length for 1-D)
  int64_t cols = 1;     // ne[1] (1 for 1-D)
  int64_t stride = 0;   // elements between rows (1 for 1-D)
  std::vector<uint8_t> bytes;

  size_t elem_size() const { return dtype_size(dtype); }
  size_t byte_size() const { return bytes.size(); }
  int64_t count() const { return rows * cols; }

  static HostTensor matrix(int dtype, int64_t rows, int64_t cols, int64_t pad_cols = 0) {
    HostTensor t;
    t.dtype = dtype;
    t.ndim = 2;
    t.rows = rows;
    t.cols = cols;
    t.stride = cols + pad_cols;
    t.bytes.resize(static_cast<size_t>(rows * t.stride) * t.elem_size());
    fill_canary(t.bytes.data(), t.bytes.size());
    return t;
  }
  static HostTensor vector(int dtype, int64_t length) {
    HostTensor t;
    t.dtype = dtype;
    t.ndim = 1;
    t.rows = length;
    t.cols = 1;
    t.stride = 1;
    t.bytes.resize(static_cast<size_t>(length) * t.elem_size());
    fill_canary(t.bytes.data(), t.bytes.size());
    return t;
  }

  // Linear element index -> byte offset (row-major over the logical shape).
  size_t byte_offset(int64_t i) const {
    const int64_t r = ndim == 1 ? i : i / cols;
    const int64_t c = ndim == 1 ? 0 : i % cols;
    return static_cast<size_t>((ndim == 1 ? r : r * stride + c)) * elem_size();
  }

  double get(int64_t i) const {
    const uint8_t* p = bytes.data() + byte_offset(i);
    switch (dtype) {
      case UCE_F32: { float v; std::memcpy(&v, p, 4); return v; }
      case UCE_F16: { uint16_t v; std::memcpy(&v, p, 2); return half_to_float(v); }
      case UCE_BF16: { uint16_t v; std::memcpy(&v, p, 2); return bf16_to_float(v); }
      case UCE_I32: { int32_t v; std::memcpy(&v, p, 4); return v; }
      case UCE_U8: return *p;
      case UCE_F64: { double v; std::memcpy(&v, p, 8); return v; }
      default: return 0.0;
    }
  }
  // Stores v rounded to the tensor's dtype (f16/bf16: round to nearest even).
  void set(int64_t i, double v) {
    uint8_t* p = bytes.data() + byte_offset(i);
    switch (dtype) {
      case UCE_F32: { const float f = static_cast<float>(v); std::memcpy(p, &f, 4); break; }
      case UCE_F16: { const uint16_t h = float_to_half(static_cast<float>(v)); std::memcpy(p, &h, 2); break; }
      case UCE_BF16: { const uint16_t h = float_to_bf16(static_cast<float>(v)); std::memcpy(p, &h, 2); break; }
      case UCE_I32: { const int32_t x = static_cast<int32_t>(v); std::memcpy(p, &x, 4); break; }
      case UCE_U8: *p = static_cast<uint8_t>(v); break;
      case UCE_F64: std::memcpy(p, &v, 8); break;
      default: break;
    }
  }

  // A uce_tensor describing this layout; memory fields (buffer, host_data, offset) are the
  // caller's to fill.
  uce_tensor descriptor() const {
    uce_tensor t{};
    t.dtype = dtype;
    t.ndim = ndim;
    t.ne[0] = rows;
    t.stride[0] = stride;
    if (ndim == 2) {
      t.ne[1] = cols;
      t.stride[1] = 1;
    }
    return t;
  }

  std::string shape_text() const {
    std::string s = std::string(dtype_name(dtype)) + "[" + std::to_string(rows);
    if (ndim == 2) s += "," + std::to_string(cols);
    s += "]";
    if (ndim == 2 && stride != cols) s += "/s" + std::to_string(stride);
    return s;
  }
};

}  // namespace uce::ops_test
