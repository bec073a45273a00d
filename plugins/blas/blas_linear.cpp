// blas_linear.cpp — LINEAR: dst[n,M] = act(x[n,K] * W[M,K]^T + b) with one OpenBLAS sgemm using
// all of the backend's threads, then the bias + activation epilogue split over rows with TBB.
// f16/bf16 weights are widened to f32 into a scratch matrix first (exact), so results match the
// f32 path; the widening costs O(M*K) against the GEMM's O(n*M*K).
#include <cblas.h>

#include <cstring>

#include "blas_kernels.hpp"
#include "uce/half.hpp"

namespace uce::blas {
namespace {

void widen_weights(const uce_tensor* w, std::vector<float>& out) {
  const int64_t m = w->ne[0], k = w->ne[1];
  out.resize(static_cast<size_t>(m * k));
  parallel_rows(m, k, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const uint16_t* s = row<const uint16_t>(w, r);
      float* d = out.data() + r * k;
      if (w->dtype == UCE_F16) {
        for (int64_t c = 0; c < k; ++c) d[c] = half_to_float(s[c]);
      } else {
        for (int64_t c = 0; c < k; ++c) d[c] = bf16_to_float(s[c]);
      }
    }
  });
}

}  // namespace

bool linear(Context& ctx, const uce_op& op, std::string&) {
  const uce_tensor* x = src(op, 0);
  const uce_tensor* w = src(op, 1);
  const uce_tensor* b = src(op, 2);
  const int64_t n = x->ne[0], k = x->ne[1], m = w->ne[0];
  if (n == 0 || m == 0) return true;
  float* dst = static_cast<float*>(op.dst->host_data);
  const int64_t ldc = op.dst->stride[0];

  if (k == 0) {  // empty sum: sgemm would reject lda = 0; the product is zero
    for (int64_t r = 0; r < n; ++r) std::memset(dst + r * ldc, 0, static_cast<size_t>(m) * sizeof(float));
  } else {
    std::unique_lock<std::mutex> lock(ctx.weight_scratch_mutex, std::defer_lock);
    const float* wf = static_cast<const float*>(w->host_data);
    int64_t ldw = w->stride[0];
    if (w->dtype != UCE_F32) {
      lock.lock();
      widen_weights(w, ctx.weight_scratch);
      wf = ctx.weight_scratch.data();
      ldw = k;
    }
    openblas_set_num_threads(ctx.threads);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(n), static_cast<blasint>(m),
                static_cast<blasint>(k), 1.0f, static_cast<const float*>(x->host_data),
                static_cast<blasint>(x->stride[0]), wf, static_cast<blasint>(ldw), 0.0f, dst,
                static_cast<blasint>(ldc));
  }
  const float* bias = b ? static_cast<const float*>(b->host_data) : nullptr;
  if (bias || op.activation != UCE_ACT_NONE)
    parallel_rows(n, m, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) bias_activation_row(dst + r * ldc, bias, m, op.activation);
    });
  return true;
}

}  // namespace uce::blas
