// blas_linear.cpp — LINEAR: dst[n,M] = act(x[n,K] * W[M,K]^T + b).
// The product is cut into one block per thread along its larger side (rows of x, or rows of W =
// columns of dst); each TBB task runs a single-threaded OpenBLAS sgemm on its block and then its
// bias/activation epilogue. OpenBLAS's own thread pool is never used: its idle workers spin in
// sched_yield and, on a 2-core machine, competed with the TBB workers of the attention and the
// row-wise ops (15% of the UCE-brain forward pass was kernel time, mostly those yields).
// Splitting along the larger side keeps the duplicated packing small: every block packs the
// whole of the other operand (row split: W once per block; column split: x once per block).
// With a bias, the block is set to b first and the sgemm accumulates into it (beta = 1): with
// beta = 0 OpenBLAS runs its own pass that zeroes C (sgemm_beta), and the epilogue would read and
// write dst once more to add b.
// f16/bf16 weights are widened to f32 into a scratch matrix first (exact), so results match the
// f32 path; the widening costs O(M*K) against the GEMM's O(n*M*K).
#include <cblas.h>

#include <cstring>

#include "blas_gelu.hpp"
#include "blas_kernels.hpp"
#include "uce/half.hpp"

namespace uce::blas {
namespace {

// A block narrower than this along the split side is not worth its own sgemm call and packing.
constexpr int64_t kMinBlock = 64;

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

struct GemmArgs {
  const float* x;
  int64_t ldx;
  const float* w;
  int64_t ldw;
  const float* bias;  // may be null
  float* dst;
  int64_t ldc;
  int64_t k;
  int activation;
};

// dst[r0:r1, c0:c1] = act(x[r0:r1] W[c0:c1]^T + bias[c0:c1]) on the calling thread.
void gemm_block(const GemmArgs& a, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  const int64_t rows = r1 - r0, cols = c1 - c0;
  float* c = a.dst + r0 * a.ldc + c0;
  const float* bias = a.bias ? a.bias + c0 : nullptr;
  if (bias)
    for (int64_t r = 0; r < rows; ++r) std::memcpy(c + r * a.ldc, bias, static_cast<size_t>(cols) * sizeof(float));
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(rows), static_cast<blasint>(cols),
              static_cast<blasint>(a.k), 1.0f, a.x + r0 * a.ldx, static_cast<blasint>(a.ldx), a.w + c0 * a.ldw,
              static_cast<blasint>(a.ldw), bias ? 1.0f : 0.0f, c, static_cast<blasint>(a.ldc));
  if (a.activation != UCE_ACT_NONE)
    for (int64_t r = 0; r < rows; ++r) bias_activation_span(c + r * a.ldc, nullptr, cols, a.activation);
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
  const float* bias = b ? static_cast<const float*>(b->host_data) : nullptr;

  if (k == 0) {  // empty sum: sgemm would reject lda = 0; the product is zero
    for (int64_t r = 0; r < n; ++r) std::memset(dst + r * ldc, 0, static_cast<size_t>(m) * sizeof(float));
    if (bias || op.activation != UCE_ACT_NONE)
      for (int64_t r = 0; r < n; ++r) bias_activation_span(dst + r * ldc, bias, m, op.activation);
    return true;
  }
  std::unique_lock<std::mutex> lock(ctx.weight_scratch_mutex, std::defer_lock);
  const float* wf = static_cast<const float*>(w->host_data);
  int64_t ldw = w->stride[0];
  if (w->dtype != UCE_F32) {
    lock.lock();
    widen_weights(w, ctx.weight_scratch);
    wf = ctx.weight_scratch.data();
    ldw = k;
  }
  const GemmArgs args{static_cast<const float*>(x->host_data), x->stride[0], wf, ldw, bias, dst, ldc, k,
                      op.activation};
  openblas_set_num_threads(1);
  const bool split_rows = n >= m;
  const int64_t side = split_rows ? n : m;
  const int64_t blocks = std::clamp<int64_t>(side / kMinBlock, 1, ctx.threads);
  if (blocks == 1) {
    gemm_block(args, 0, n, 0, m);
    return true;
  }
  // Equal blocks; column boundaries rounded to 16 floats so each block's rows stay vector-aligned.
  auto boundary = [&](int64_t i) {
    const int64_t at = side * i / blocks;
    return split_rows || i == blocks ? at : at / 16 * 16;
  };
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, blocks, 1), [&](const tbb::blocked_range<int64_t>& range) {
    for (int64_t i = range.begin(); i < range.end(); ++i) {
      const int64_t lo = boundary(i), hi = boundary(i + 1);
      if (split_rows)
        gemm_block(args, lo, hi, 0, m);
      else
        gemm_block(args, 0, n, lo, hi);
    }
  });
  return true;
}

}  // namespace uce::blas
