// blas_context.hpp — state of one opened BLAS backend, and the small helpers its kernels share.
#pragma once

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "uce/uce_plugin.h"

namespace uce::blas {

struct Context {
  int threads = 1;                          // from uce_backend_options.threads (0 = all cores)
  std::unique_ptr<tbb::task_arena> arena;   // every TBB loop of this backend runs inside it
  std::mutex weight_scratch_mutex;          // guards weight_scratch (f16/bf16 LINEAR weights)
  std::vector<float> weight_scratch;
};

// Splits rows over the arena's threads when there is enough work to pay for it; `body(r0, r1)`
// handles rows [r0, r1). Must be called from inside Context::arena (compute() does that).
template <typename Body>
void parallel_rows(int64_t rows, int64_t cols, const Body& body) {
  constexpr int64_t kMinElementsPerTask = 16384;
  if (rows <= 1 || rows * std::max<int64_t>(cols, 1) < 2 * kMinElementsPerTask) {
    body(int64_t{0}, rows);
    return;
  }
  const int64_t grain = std::max<int64_t>(1, kMinElementsPerTask / std::max<int64_t>(cols, 1));
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, rows, static_cast<size_t>(grain)),
                    [&](const tbb::blocked_range<int64_t>& r) { body(r.begin(), r.end()); });
}

inline const uce_tensor* src(const uce_op& op, int i) { return i < op.n_srcs ? op.srcs[i] : nullptr; }

template <typename T>
T* row(const uce_tensor* t, int64_t r) {
  return static_cast<T*>(t->host_data) + r * t->stride[0];
}

}  // namespace uce::blas
