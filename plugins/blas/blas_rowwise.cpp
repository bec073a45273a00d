// blas_rowwise.cpp — the row-wise and elementwise ops of the BLAS backend: rows are split over
// TBB threads, the inner loops are plain contiguous loops the compiler vectorises
// (`omp simd reduction` lets it vectorise the double-precision sums without -ffast-math).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "blas_gelu.hpp"
#include "blas_kernels.hpp"
#include "op_checks.hpp"
#include "uce/half.hpp"

namespace uce::blas {
namespace {

// Converts one row of a f32/f16/bf16 tensor to f32.
void load_row_f32(const void* src, int dtype, int64_t cols, float* out) {
  if (dtype == UCE_F32) {
    std::memcpy(out, src, static_cast<size_t>(cols) * sizeof(float));
  } else if (dtype == UCE_F16) {
    const auto* s = static_cast<const uint16_t*>(src);
    for (int64_t c = 0; c < cols; ++c) out[c] = half_to_float(s[c]);
  } else {
    const auto* s = static_cast<const uint16_t*>(src);
    for (int64_t c = 0; c < cols; ++c) out[c] = bf16_to_float(s[c]);
  }
}

void store_row_from_f32(const float* in, int dtype, int64_t cols, void* dst) {
  if (dtype == UCE_F32) {
    std::memcpy(dst, in, static_cast<size_t>(cols) * sizeof(float));
  } else if (dtype == UCE_F16) {
    auto* d = static_cast<uint16_t*>(dst);
    for (int64_t c = 0; c < cols; ++c) d[c] = float_to_half(in[c]);
  } else {
    auto* d = static_cast<uint16_t*>(dst);
    for (int64_t c = 0; c < cols; ++c) d[c] = float_to_bf16(in[c]);
  }
}

}  // namespace

bool layernorm(const uce_op& op, std::string&) {
  const uce_tensor* x = src(op, 0);
  const float* gamma = static_cast<const float*>(src(op, 1)->host_data);
  const float* beta = static_cast<const float*>(src(op, 2)->host_data);
  const uce_tensor* residual = src(op, 3);
  const int64_t d = x->ne[1];
  const float scale = op.scale;
  parallel_rows(x->ne[0], d, [&](int64_t r0, int64_t r1) {
    std::vector<float> v(static_cast<size_t>(d));
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = row<const float>(x, r);
      if (residual) {
        const float* rr = row<const float>(residual, r);
#pragma omp simd
        for (int64_t c = 0; c < d; ++c) v[c] = xr[c] + rr[c];
      } else {
        std::memcpy(v.data(), xr, static_cast<size_t>(d) * sizeof(float));
      }
      double sum = 0.0;
#pragma omp simd reduction(+ : sum)
      for (int64_t c = 0; c < d; ++c) sum += v[c];
      const double mean = d > 0 ? sum / static_cast<double>(d) : 0.0;
      double sq = 0.0;
#pragma omp simd reduction(+ : sq)
      for (int64_t c = 0; c < d; ++c) {
        const double t = v[c] - mean;
        sq += t * t;
      }
      const double var = d > 0 ? sq / static_cast<double>(d) : 0.0;
      const float inv_std = static_cast<float>(1.0 / std::sqrt(var + static_cast<double>(op.eps)));
      const float mean_f = static_cast<float>(mean);
      float* y = row<float>(op.dst, r);
#pragma omp simd
      for (int64_t c = 0; c < d; ++c) y[c] = (v[c] - mean_f) * inv_std * gamma[c] + beta[c];
      bias_activation_span(y, nullptr, d, op.activation);  // no bias: the activation alone
      if (scale != 1.0f) {
#pragma omp simd
        for (int64_t c = 0; c < d; ++c) y[c] *= scale;
      }
    }
  });
  return true;
}

bool l2norm_rows(const uce_op& op, std::string&) {
  const uce_tensor* x = src(op, 0);
  const int64_t d = x->ne[1];
  parallel_rows(x->ne[0], d, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = row<const float>(x, r);
      double sq = 0.0;
#pragma omp simd reduction(+ : sq)
      for (int64_t c = 0; c < d; ++c) sq += static_cast<double>(xr[c]) * xr[c];
      const double denom = std::max(std::sqrt(sq), static_cast<double>(op.eps));
      const float inv = static_cast<float>(1.0 / denom);
      float* y = row<float>(op.dst, r);
#pragma omp simd
      for (int64_t c = 0; c < d; ++c) y[c] = xr[c] * inv;
    }
  });
  return true;
}

bool elementwise_unary(const uce_op& op, std::string&) {
  const uce_tensor* x = src(op, 0);
  const int64_t d = x->ne[1];
  const float scale = op.scale;
  parallel_rows(x->ne[0], d, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = row<const float>(x, r);
      float* y = row<float>(op.dst, r);
      if (op.type == UCE_OP_SCALE) {
#pragma omp simd
        for (int64_t c = 0; c < d; ++c) y[c] = xr[c] * scale;
      } else if (op.type == UCE_OP_RELU) {
#pragma omp simd
        for (int64_t c = 0; c < d; ++c) y[c] = xr[c] > 0.0f ? xr[c] : 0.0f;
      } else {
        gelu_span(xr, y, d);
      }
    }
  });
  return true;
}

bool add(const uce_op& op, std::string&) {
  const uce_tensor* a = src(op, 0);
  const uce_tensor* b = src(op, 1);
  const bool broadcast = b->ne[0] != a->ne[0];
  const int64_t d = a->ne[1];
  parallel_rows(a->ne[0], d, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* ar = row<const float>(a, r);
      const float* br = row<const float>(b, broadcast ? 0 : r);
      float* y = row<float>(op.dst, r);
#pragma omp simd
      for (int64_t c = 0; c < d; ++c) y[c] = ar[c] + br[c];
    }
  });
  return true;
}

bool gather_rows(const uce_op& op, std::string& why) {
  const uce_tensor* table = src(op, 0);
  const uce_tensor* idx = src(op, 1);
  const auto* ids = static_cast<const int32_t*>(idx->host_data);
  if (!opcheck::check_indices(ids, idx->ne[0], table->ne[0], "idx", why)) return false;
  const int64_t d = table->ne[1];
  const size_t es = dtype_size(table->dtype);
  parallel_rows(idx->ne[0], d, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const char* s = static_cast<const char*>(table->host_data) + ids[r] * table->stride[0] * es;
      load_row_f32(s, table->dtype, d, row<float>(op.dst, r));
    }
  });
  return true;
}

bool add_rows_pe(const uce_op& op, std::string& why) {
  const uce_tensor* x = src(op, 0);
  const uce_tensor* pe = src(op, 1);
  const auto* pos = static_cast<const int32_t*>(src(op, 2)->host_data);
  if (!opcheck::check_indices(pos, x->ne[0], pe->ne[0], "pos", why)) return false;
  const int64_t d = x->ne[1];
  parallel_rows(x->ne[0], d, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = row<const float>(x, r);
      const float* pr = row<const float>(pe, pos[r]);
      float* y = row<float>(op.dst, r);
#pragma omp simd
      for (int64_t c = 0; c < d; ++c) y[c] = xr[c] + pr[c];
    }
  });
  return true;
}

bool segment_mean(const uce_op& op, std::string& why) {
  const uce_tensor* x = src(op, 0);
  const uce_tensor* seg_t = src(op, 1);
  const auto* seg = static_cast<const int32_t*>(seg_t->host_data);
  if (!opcheck::check_segments(seg, seg_t->ne[0], x->ne[0], why)) return false;
  const int64_t d = x->ne[1];
  const int64_t segments = seg_t->ne[0] - 1;
  // Parallel over segments; each sums its rows in double (rows of a segment are few thousand).
  parallel_rows(segments, d * std::max<int64_t>(1, x->ne[0] / std::max<int64_t>(1, segments)),
                [&](int64_t s0, int64_t s1) {
                  std::vector<double> acc(static_cast<size_t>(d));
                  for (int64_t s = s0; s < s1; ++s) {
                    std::fill(acc.begin(), acc.end(), 0.0);
                    for (int64_t r = seg[s]; r < seg[s + 1]; ++r) {
                      const float* xr = row<const float>(x, r);
#pragma omp simd
                      for (int64_t c = 0; c < d; ++c) acc[c] += xr[c];
                    }
                    const int64_t count = seg[s + 1] - seg[s];
                    const double inv = count > 0 ? 1.0 / static_cast<double>(count) : 0.0;  // empty: zeros
                    float* y = row<float>(op.dst, s);
#pragma omp simd
                    for (int64_t c = 0; c < d; ++c) y[c] = static_cast<float>(acc[c] * inv);
                  }
                });
  return true;
}

bool copy(const uce_op& op, std::string&) {
  const uce_tensor* x = src(op, 0);
  const uce_tensor* dst = op.dst;
  const bool vec = x->ndim == 1;
  const int64_t rows = vec ? 1 : x->ne[0];
  const int64_t cols = vec ? x->ne[0] : x->ne[1];
  const size_t es_in = dtype_size(x->dtype), es_out = dtype_size(dst->dtype);
  parallel_rows(rows, cols, [&](int64_t r0, int64_t r1) {
    std::vector<float> tmp;
    for (int64_t r = r0; r < r1; ++r) {
      const char* s = static_cast<const char*>(x->host_data) + (vec ? 0 : r * x->stride[0]) * es_in;
      char* t = static_cast<char*>(dst->host_data) + (vec ? 0 : r * dst->stride[0]) * es_out;
      if (x->dtype == dst->dtype) {
        std::memcpy(t, s, static_cast<size_t>(cols) * es_in);
      } else if (x->dtype == UCE_F32) {
        store_row_from_f32(reinterpret_cast<const float*>(s), dst->dtype, cols, t);
      } else if (dst->dtype == UCE_F32) {
        load_row_f32(s, x->dtype, cols, reinterpret_cast<float*>(t));
      } else {  // f16 <-> bf16 through f32
        tmp.resize(static_cast<size_t>(cols));
        load_row_f32(s, x->dtype, cols, tmp.data());
        store_row_from_f32(tmp.data(), dst->dtype, cols, t);
      }
    }
  });
  return true;
}

}  // namespace uce::blas
