// tensor_access.hpp — element addressing for the reference kernels: host_data + r*stride[0] + c,
// with f16/bf16 widened to double exactly. Kept trivial on purpose: the reference is the oracle.
#pragma once

#include <cstdint>
#include <cstring>

#include "uce/half.hpp"
#include "uce/uce_plugin.h"

namespace uce::reference {

inline double load_element(const void* base, int dtype, int64_t i) {
  switch (dtype) {
    case UCE_F32: return static_cast<const float*>(base)[i];
    case UCE_F16: return half_to_float(static_cast<const uint16_t*>(base)[i]);
    case UCE_BF16: return bf16_to_float(static_cast<const uint16_t*>(base)[i]);
    case UCE_F64: return static_cast<const double*>(base)[i];
    case UCE_I32: return static_cast<const int32_t*>(base)[i];
    default: return 0.0;
  }
}

// Element (r, c) of a 2-D tensor, or element c of a vector (r = 0).
inline double load(const uce_tensor* t, int64_t r, int64_t c) {
  return load_element(t->host_data, t->dtype, r * t->stride[0] + c);
}

inline float* row_f32(const uce_tensor* t, int64_t r) {
  return static_cast<float*>(t->host_data) + r * t->stride[0];
}

inline const int32_t* i32_data(const uce_tensor* t) { return static_cast<const int32_t*>(t->host_data); }

}  // namespace uce::reference
