// reference_attention.cpp — packed variable-length multi-head self-attention, exactly as ops.hpp
// states it, one query row at a time: logits in double with max subtraction, exact softmax,
// weighted sum of values in double. Output rows are independent, so they are split over threads
// with TBB; each row is still computed by one fixed-order scalar loop.
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "op_checks.hpp"
#include "reference_kernels.hpp"
#include "tensor_access.hpp"

namespace uce::reference {

bool run_attention(const uce_op& op, std::string& why) {
  const uce_tensor* qkv = op.srcs[0];
  const uce_tensor* seg_t = op.srcs[1];
  const uce_tensor* key_bias = op.n_srcs > 2 ? op.srcs[2] : nullptr;
  const uce_tensor* key_mask = op.n_srcs > 3 ? op.srcs[3] : nullptr;
  const uce_tensor* query_rows = op.n_srcs > 4 ? op.srcs[4] : nullptr;
  const int64_t n = qkv->ne[0];
  const int64_t d = qkv->ne[1] / 3;
  const int64_t heads = op.n_heads;
  const int64_t hd = d / heads;
  const int64_t n_seg_bounds = seg_t->ne[0];
  const int32_t* seg = i32_data(seg_t);
  if (!opcheck::check_segments(seg, n_seg_bounds, n, why)) return false;
  const int64_t q_count = query_rows ? query_rows->ne[0] : n;
  const int32_t* qrows = query_rows ? i32_data(query_rows) : nullptr;
  if (qrows && !opcheck::check_indices(qrows, q_count, n, "query_rows", why)) return false;
  const uint8_t* mask = key_mask ? static_cast<const uint8_t*>(key_mask->host_data) : nullptr;
  const double scale = op.scale;

  tbb::parallel_for(tbb::blocked_range<int64_t>(0, q_count), [&](const tbb::blocked_range<int64_t>& range) {
    std::vector<double> logits;
    std::vector<double> out(static_cast<size_t>(hd));
    for (int64_t r = range.begin(); r < range.end(); ++r) {
      const int64_t i = qrows ? qrows[r] : r;
      // The sequence s that owns row i: seg[s] <= i < seg[s+1] (empty sequences are skipped).
      const int32_t* upper = std::upper_bound(seg, seg + n_seg_bounds, static_cast<int32_t>(i));
      const int64_t s = (upper - seg) - 1;
      const int64_t k0 = seg[s], k1 = seg[s + 1];
      logits.assign(static_cast<size_t>(k1 - k0), 0.0);
      for (int64_t h = 0; h < heads; ++h) {
        const int64_t qc = h * hd, kc = d + h * hd, vc = 2 * d + h * hd;
        double max_logit = -std::numeric_limits<double>::infinity();
        bool any_key = false;
        for (int64_t j = k0; j < k1; ++j) {
          if (mask && mask[j]) continue;
          double dot = 0.0;
          for (int64_t c = 0; c < hd; ++c) dot += load(qkv, i, qc + c) * load(qkv, j, kc + c);
          double l = dot * scale;
          if (key_bias) l += load(key_bias, 0, j);
          logits[j - k0] = l;
          max_logit = std::max(max_logit, l);
          any_key = true;
        }
        std::fill(out.begin(), out.end(), 0.0);
        // A query whose keys are all masked gets zeros (also when every logit is -inf, e.g. a
        // caller's -inf key_bias, instead of 0/0).
        if (any_key && max_logit > -std::numeric_limits<double>::infinity()) {
          double denom = 0.0;
          for (int64_t j = k0; j < k1; ++j) {
            if (mask && mask[j]) continue;
            const double p = std::exp(logits[j - k0] - max_logit);
            denom += p;
            for (int64_t c = 0; c < hd; ++c) out[c] += p * load(qkv, j, vc + c);
          }
          for (int64_t c = 0; c < hd; ++c) out[c] /= denom;
        }
        float* dst_row = row_f32(op.dst, r);
        for (int64_t c = 0; c < hd; ++c) dst_row[h * hd + c] = static_cast<float>(out[c]);
      }
    }
  });
  return true;
}

}  // namespace uce::reference
