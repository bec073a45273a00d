// op_timing.hpp — times single ops on one backend through Backend::compute on buffers the
// backend allocates: the sgemm rate (LINEAR with no bias/activation) and a per-op profile of one
// encoder layer at the cell graph's shapes, to show where the forward pass spends its time
// (the executor has no per-node timing hook, so the layer's ops are replayed here one by one).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench_stats.hpp"
#include "uce/backend.hpp"

namespace uce::bench {

struct OpTiming {
  std::string name;
  double flops = 0;  // multiply-adds x 2 of the op's matrix products; 0 for row-wise ops
  double bytes = 0;  // bytes read + written by a row-wise op (f32), 0 for matrix products
  Summary seconds;
  double cpu_seconds = 0;  // process CPU seconds (all threads) per run, mean over the timed runs
};

// dst[n,M] = x[n,K] W[M,K]^T through the backend's LINEAR op (bias NULL, activation NONE), or with
// bias and `activation` when `with_epilogue`.
Result<OpTiming> time_linear(Backend& backend, int64_t n, int64_t k, int64_t m, bool with_epilogue,
                             int activation, int warmup, int repeats);

// The ops of one encoder layer as the cell graph runs them for one sentence of n rows (d model
// width, ff hidden width). `cls_only`: the last layer's variant (queries, out-projection and FFN
// on the CLS row only). `sequences` > 1: that many sentences packed as the batched graph runs
// them (rows = sequences x n, one attention segment per sentence, one CLS row each). Returns one
// timing per op, in graph order; `bytes` is filled for the row-wise ops.
Result<std::vector<OpTiming>> profile_layer(Backend& backend, int64_t n, int64_t d, int64_t heads, int64_t ff,
                                            bool cls_only, int warmup, int repeats, int64_t sequences = 1);

// dst = x through the backend's COPY op (f32 -> f32, `bytes` per side): the device's copy rate.
Result<OpTiming> time_copy(Backend& backend, size_t bytes, int warmup, int repeats);

}  // namespace uce::bench
