// reference_kernels.cpp — naive scalar implementations of every op of ops.hpp except attention
// (reference_attention.cpp). Every sum is accumulated in double, every intermediate is double,
// results are rounded to the destination dtype once. Only LINEAR is split over rows with TBB (each
// output element is still computed by one scalar loop in a fixed order, so results do not depend
// on the thread count); everything else is a plain loop.
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "op_checks.hpp"
#include "reference_kernels.hpp"
#include "tensor_access.hpp"

namespace uce::reference {
namespace {

double apply_activation(int act, double v) {
  switch (act) {
    case UCE_ACT_GELU: return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
    case UCE_ACT_RELU: return v > 0.0 ? v : 0.0;
    default: return v;
  }
}

void store(const uce_tensor* t, int64_t r, int64_t c, double v) {
  const int64_t i = r * t->stride[0] + c;
  switch (t->dtype) {
    case UCE_F32: static_cast<float*>(t->host_data)[i] = static_cast<float>(v); break;
    case UCE_F16: static_cast<uint16_t*>(t->host_data)[i] = float_to_half(static_cast<float>(v)); break;
    case UCE_BF16: static_cast<uint16_t*>(t->host_data)[i] = float_to_bf16(static_cast<float>(v)); break;
    case UCE_F64: static_cast<double*>(t->host_data)[i] = v; break;
    default: break;
  }
}

const uce_tensor* src(const uce_op& op, int i) { return i < op.n_srcs ? op.srcs[i] : nullptr; }

}  // namespace

bool run_gather_rows(const uce_op& op, std::string& why) {
  const uce_tensor* table = src(op, 0);
  const uce_tensor* idx = src(op, 1);
  const int32_t* ids = i32_data(idx);
  if (!opcheck::check_indices(ids, idx->ne[0], table->ne[0], "idx", why)) return false;
  for (int64_t i = 0; i < idx->ne[0]; ++i)
    for (int64_t c = 0; c < table->ne[1]; ++c) store(op.dst, i, c, load(table, ids[i], c));
  return true;
}

bool run_l2norm_rows(const uce_op& op, std::string&) {
  const uce_tensor* x = src(op, 0);
  const int64_t d = x->ne[1];
  std::vector<double> row(static_cast<size_t>(d));
  for (int64_t r = 0; r < x->ne[0]; ++r) {
    double sum_sq = 0.0;
    for (int64_t c = 0; c < d; ++c) {
      row[c] = load(x, r, c);
      sum_sq += row[c] * row[c];
    }
    const double denom = std::max(std::sqrt(sum_sq), static_cast<double>(op.eps));
    for (int64_t c = 0; c < d; ++c) store(op.dst, r, c, row[c] / denom);
  }
  return true;
}

bool run_linear(const uce_op& op, std::string&) {
  const uce_tensor* x = src(op, 0);
  const uce_tensor* w = src(op, 1);
  const uce_tensor* b = src(op, 2);
  const int64_t n = x->ne[0], k = x->ne[1], m = w->ne[0];
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, n), [&](const tbb::blocked_range<int64_t>& rows) {
    for (int64_t i = rows.begin(); i < rows.end(); ++i)
      for (int64_t o = 0; o < m; ++o) {
        double acc = 0.0;
        for (int64_t j = 0; j < k; ++j) acc += load(x, i, j) * load(w, o, j);
        if (b) acc += load(b, 0, o);
        store(op.dst, i, o, apply_activation(op.activation, acc));
      }
  });
  return true;
}

bool run_layernorm(const uce_op& op, std::string&) {
  const uce_tensor* x = src(op, 0);
  const uce_tensor* gamma = src(op, 1);
  const uce_tensor* beta = src(op, 2);
  const uce_tensor* residual = src(op, 3);
  const int64_t d = x->ne[1];
  std::vector<double> v(static_cast<size_t>(d));
  for (int64_t r = 0; r < x->ne[0]; ++r) {
    double sum = 0.0;
    for (int64_t c = 0; c < d; ++c) {
      v[c] = load(x, r, c) + (residual ? load(residual, r, c) : 0.0);
      sum += v[c];
    }
    const double mean = d > 0 ? sum / static_cast<double>(d) : 0.0;
    double sq = 0.0;
    for (int64_t c = 0; c < d; ++c) sq += (v[c] - mean) * (v[c] - mean);
    const double var = d > 0 ? sq / static_cast<double>(d) : 0.0;  // biased, as PyTorch
    const double inv_std = 1.0 / std::sqrt(var + static_cast<double>(op.eps));
    for (int64_t c = 0; c < d; ++c) {
      const double y = (v[c] - mean) * inv_std * load(gamma, 0, c) + load(beta, 0, c);
      store(op.dst, r, c, apply_activation(op.activation, y) * static_cast<double>(op.scale));
    }
  }
  return true;
}

bool run_unary(const uce_op& op, std::string&) {
  const uce_tensor* x = src(op, 0);
  for (int64_t r = 0; r < x->ne[0]; ++r)
    for (int64_t c = 0; c < x->ne[1]; ++c) {
      const double v = load(x, r, c);
      double y = v;
      if (op.type == UCE_OP_GELU) y = apply_activation(UCE_ACT_GELU, v);
      if (op.type == UCE_OP_RELU) y = apply_activation(UCE_ACT_RELU, v);
      if (op.type == UCE_OP_SCALE) y = v * static_cast<double>(op.scale);
      store(op.dst, r, c, y);
    }
  return true;
}

bool run_add(const uce_op& op, std::string&) {
  const uce_tensor* a = src(op, 0);
  const uce_tensor* b = src(op, 1);
  const bool broadcast = b->ne[0] != a->ne[0];
  for (int64_t r = 0; r < a->ne[0]; ++r)
    for (int64_t c = 0; c < a->ne[1]; ++c)
      store(op.dst, r, c, load(a, r, c) + load(b, broadcast ? 0 : r, c));
  return true;
}

bool run_copy(const uce_op& op, std::string&) {
  const uce_tensor* x = src(op, 0);
  const bool vec = x->ndim == 1;
  const int64_t rows = vec ? 1 : x->ne[0];
  const int64_t cols = vec ? x->ne[0] : x->ne[1];
  if (x->dtype == op.dst->dtype) {  // same dtype: bit-exact copy, any element type
    const size_t es = dtype_size(x->dtype);
    for (int64_t r = 0; r < rows; ++r)
      std::memcpy(static_cast<char*>(op.dst->host_data) + r * op.dst->stride[0] * es,
                  static_cast<const char*>(x->host_data) + r * x->stride[0] * es, static_cast<size_t>(cols) * es);
    return true;
  }
  // f16/bf16 -> f32 is exact; f32 -> f16/bf16 rounds to nearest even (half.hpp).
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) store(op.dst, r, c, load(x, r, c));
  return true;
}

bool run_add_rows_pe(const uce_op& op, std::string& why) {
  const uce_tensor* x = src(op, 0);
  const uce_tensor* pe = src(op, 1);
  const uce_tensor* pos = src(op, 2);
  const int32_t* p = i32_data(pos);
  if (!opcheck::check_indices(p, x->ne[0], pe->ne[0], "pos", why)) return false;
  for (int64_t r = 0; r < x->ne[0]; ++r)
    for (int64_t c = 0; c < x->ne[1]; ++c) store(op.dst, r, c, load(x, r, c) + load(pe, p[r], c));
  return true;
}

bool run_segment_mean(const uce_op& op, std::string& why) {
  const uce_tensor* x = src(op, 0);
  const uce_tensor* seg = src(op, 1);
  const int32_t* s = i32_data(seg);
  if (!opcheck::check_segments(s, seg->ne[0], x->ne[0], why)) return false;
  const int64_t d = x->ne[1];
  std::vector<double> acc(static_cast<size_t>(d));
  for (int64_t b = 0; b + 1 < seg->ne[0]; ++b) {
    std::fill(acc.begin(), acc.end(), 0.0);
    for (int64_t r = s[b]; r < s[b + 1]; ++r)
      for (int64_t c = 0; c < d; ++c) acc[c] += load(x, r, c);
    const int64_t count = s[b + 1] - s[b];
    // An empty segment has no mean; it is defined as zeros so that no backend writes NaN.
    for (int64_t c = 0; c < d; ++c) store(op.dst, b, c, count > 0 ? acc[c] / static_cast<double>(count) : 0.0);
  }
  return true;
}

}  // namespace uce::reference
