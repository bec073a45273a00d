// compare.hpp — how a backend's output is judged against the reference backend's:
// normalised mean squared error NMSE = sum((a-b)^2) / sum(b^2) under a per-op tolerance, and no
// NaN/Inf where the reference is finite.
#pragma once

#include <cmath>
#include <string>

#include "host_tensor.hpp"
#include "op_case.hpp"

namespace uce::ops_test {

struct Comparison {
  double nmse = 0.0;
  double max_abs_diff = 0.0;
  int64_t nonfinite = 0;            // non-finite outputs where the reference is finite
  int64_t reference_nonfinite = 0;  // a broken oracle or a broken case: always a failure
};

inline Comparison compare_outputs(const HostTensor& got, const HostTensor& want) {
  Comparison c;
  double err = 0.0, norm = 0.0;
  for (int64_t i = 0; i < want.count(); ++i) {
    const double a = got.get(i), b = want.get(i);
    if (!std::isfinite(b)) {
      ++c.reference_nonfinite;
      continue;
    }
    if (!std::isfinite(a)) {
      ++c.nonfinite;
      continue;
    }
    err += (a - b) * (a - b);
    norm += b * b;
    c.max_abs_diff = std::max(c.max_abs_diff, std::abs(a - b));
  }
  c.nmse = norm > 0.0 ? err / norm : (err > 0.0 ? INFINITY : 0.0);
  return c;
}

// Tolerances for f32 computation. Elementwise ops are (nearly) exactly rounded; reductions and
// GEMM-like ops differ by float accumulation order (~1e-12 expected, 1e-9 allowed). A backend
// opened with allow_fp16 may round activations to fp16 inside GEMM/attention: 1e-5.
inline double tolerance_for(const OpCase& c, bool allow_fp16) {
  switch (c.type) {
    case UCE_OP_LINEAR:
    case UCE_OP_ATTENTION: return allow_fp16 ? 1e-5 : 1e-9;
    case UCE_OP_LAYERNORM:
    case UCE_OP_L2NORM_ROWS:
    case UCE_OP_SEGMENT_MEAN: return allow_fp16 ? 1e-6 : 1e-9;
    default: return 1e-10;
  }
}

}  // namespace uce::ops_test
