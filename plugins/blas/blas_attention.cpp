// blas_attention.cpp — packed variable-length multi-head self-attention (ops.hpp ATTENTION) that
// never holds more than one block of the n x n score matrix: the query rows of each sequence are
// cut into blocks of at most kMaxBlockRows; one task = (block, head) computes
//   S = scale * Q_blk K^T                  (sgemm into a per-thread scratch [rows x n_seq])
//   E = exp(S + key_bias - rowmax), masked keys -> 0, and 1/rowsum   (blas_softmax.cpp)
//   O = (E V) / rowsum                      (sgemm, then the hd outputs of each row are scaled)
// Tasks run in parallel with TBB; OpenBLAS is always single-threaded in this backend
// (blas_linear.cpp says why), so the two levels of threading never multiply.
#include <cblas.h>
#include <tbb/enumerable_thread_specific.h>

#include <algorithm>
#include <cstring>
#include <numeric>

#include "blas_kernels.hpp"
#include "blas_softmax.hpp"
#include "op_checks.hpp"

namespace uce::blas {
namespace {

// At most this many query rows per task. A sequence's rows are cut into equal blocks under it
// (1073 rows -> 5 x 215), so each sgemm is as large as one core's L2 allows (the 215 x 1073 score
// block is 0.9 MB) and no block is a small remainder. On the UCE shapes (head dim 64, n = 1073,
// one thread) the two GEMMs ran at 141-146 GFLOP/s with 64-row blocks and 150-160 with 215-256
// (AVX-512 core; 85-90 vs 87-93 with the Haswell core): bench/RESULTS.md, 2026-11-22 section.
constexpr int64_t kMaxBlockRows = 256;

struct QueryBlock {
  int64_t seq_begin, seq_end;  // key/value rows of the sequence
  int64_t first, count;        // entries [first, first + count) of the query order
};

}  // namespace

bool attention(Context&, const uce_op& op, std::string& why) {
  const uce_tensor* qkv = src(op, 0);
  const uce_tensor* seg_t = src(op, 1);
  const uce_tensor* bias_t = src(op, 2);
  const uce_tensor* mask_t = src(op, 3);
  const uce_tensor* qrows_t = src(op, 4);
  const int64_t n = qkv->ne[0];
  const int64_t d = qkv->ne[1] / 3;
  const int64_t heads = op.n_heads;
  const int64_t hd = d / heads;
  const int64_t ld = qkv->stride[0];
  const auto* seg = static_cast<const int32_t*>(seg_t->host_data);
  const int64_t n_bounds = seg_t->ne[0];
  if (!opcheck::check_segments(seg, n_bounds, n, why)) return false;
  const int64_t q_count = qrows_t ? qrows_t->ne[0] : n;
  const auto* qrows = qrows_t ? static_cast<const int32_t*>(qrows_t->host_data) : nullptr;
  if (qrows && !opcheck::check_indices(qrows, q_count, n, "query_rows", why)) return false;
  if (q_count == 0 || hd == 0) return true;
  const float* bias = bias_t ? static_cast<const float*>(bias_t->host_data) : nullptr;
  const auto* mask = mask_t ? static_cast<const uint8_t*>(mask_t->host_data) : nullptr;
  const float* base = static_cast<const float*>(qkv->host_data);

  // Output rows grouped by the sequence of their query row (stable, so order within a sequence
  // is kept), then cut into blocks.
  auto seq_of = [&](int64_t i) {
    return (std::upper_bound(seg, seg + n_bounds, static_cast<int32_t>(i)) - seg) - 1;
  };
  std::vector<int64_t> order(static_cast<size_t>(q_count));
  std::iota(order.begin(), order.end(), int64_t{0});
  std::vector<int64_t> seq_of_out(static_cast<size_t>(q_count));
  for (int64_t r = 0; r < q_count; ++r) seq_of_out[r] = seq_of(qrows ? qrows[r] : r);
  if (qrows)
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return seq_of_out[a] < seq_of_out[b]; });
  std::vector<QueryBlock> blocks;
  for (int64_t t = 0; t < q_count;) {
    const int64_t s = seq_of_out[order[t]];
    int64_t e = t;
    while (e < q_count && seq_of_out[order[e]] == s) ++e;
    const int64_t n_blocks = (e - t + kMaxBlockRows - 1) / kMaxBlockRows;
    for (int64_t b = 0; b < n_blocks; ++b) {
      const int64_t first = t + (e - t) * b / n_blocks, last = t + (e - t) * (b + 1) / n_blocks;
      blocks.push_back({seg[s], seg[s + 1], first, last - first});
    }
    t = e;
  }

  struct Scratch {
    std::vector<float> q, s, o, inv_sum;
  };
  tbb::enumerable_thread_specific<Scratch> scratch;
  const float scale = op.scale;
  const int64_t tasks = static_cast<int64_t>(blocks.size()) * heads;
  float* dst = static_cast<float*>(op.dst->host_data);
  const int64_t ldd = op.dst->stride[0];

  openblas_set_num_threads(1);
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, tasks, 1), [&](const tbb::blocked_range<int64_t>& range) {
    Scratch& sc = scratch.local();
    for (int64_t task = range.begin(); task < range.end(); ++task) {
      const QueryBlock& blk = blocks[static_cast<size_t>(task / heads)];
      const int64_t h = task % heads;
      const int64_t n_keys = blk.seq_end - blk.seq_begin;
      const int64_t rows = blk.count;
      sc.s.resize(static_cast<size_t>(rows * n_keys));
      sc.inv_sum.resize(static_cast<size_t>(rows));
      // Without query_rows the block's queries (and its outputs) are consecutive rows, so the
      // GEMMs read q from qkv and write o into dst directly; otherwise they are gathered/scattered.
      const bool contiguous = qrows == nullptr;
      const float* q = base + blk.first * ld + h * hd;
      int64_t ldq = ld;
      if (!contiguous) {
        sc.q.resize(static_cast<size_t>(rows * hd));
        for (int64_t t = 0; t < rows; ++t) {
          const int64_t i = qrows[order[blk.first + t]];
          std::memcpy(&sc.q[t * hd], base + i * ld + h * hd, static_cast<size_t>(hd) * sizeof(float));
        }
        q = sc.q.data();
        ldq = hd;
      }
      float* o = dst + blk.first * ldd + h * hd;
      int64_t ldo = ldd;
      if (!contiguous) {
        sc.o.resize(static_cast<size_t>(rows * hd));
        o = sc.o.data();
        ldo = hd;
      }
      const float* k = base + blk.seq_begin * ld + d + h * hd;
      const float* v = base + blk.seq_begin * ld + 2 * d + h * hd;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(rows), static_cast<blasint>(n_keys),
                  static_cast<blasint>(hd), scale, q, static_cast<blasint>(ldq), k, static_cast<blasint>(ld),
                  0.0f, sc.s.data(), static_cast<blasint>(n_keys));
      softmax_rows_unnormalised(sc.s.data(), rows, n_keys, n_keys, bias ? bias + blk.seq_begin : nullptr,
                                mask ? mask + blk.seq_begin : nullptr, sc.inv_sum.data());
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<blasint>(rows), static_cast<blasint>(hd),
                  static_cast<blasint>(n_keys), 1.0f, sc.s.data(), static_cast<blasint>(n_keys), v,
                  static_cast<blasint>(ld), 0.0f, o, static_cast<blasint>(ldo));
      // The softmax's 1/sum is applied to the hd outputs of a row instead of its n_keys weights.
      for (int64_t t = 0; t < rows; ++t) {
        const float inv = sc.inv_sum[t];
        const float* from = o + t * ldo;
        float* to = contiguous ? o + t * ldo : dst + order[blk.first + t] * ldd + h * hd;
#pragma omp simd
        for (int64_t c = 0; c < hd; ++c) to[c] = from[c] * inv;
      }
    }
  });
  return true;
}

}  // namespace uce::blas
