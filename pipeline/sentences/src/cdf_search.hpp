// cdf_search.hpp (internal) — numpy's searchsorted(cdf, u, side="right") made fast and kept
// exact: a guide table over n equal buckets of [0, 1) gives a start at or before the answer,
// a check and a short forward scan finish. Tested against std::upper_bound on edge values in
// tests/sentences/test_cdf_search.cpp.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace uce::sentences::detail {

// First index with cdf[i] > u (std::upper_bound), branch-free: draws land on unpredictable
// bins, so a branchy search pays a misprediction per level. n >= 1.
inline std::size_t upper_index(const double* cdf, std::size_t n, double u) {
  const double* base = cdf;
  while (n > 1) {
    const std::size_t half = n / 2;
    base = (base[half] <= u) ? base + half : base;
    n -= half;
  }
  return static_cast<std::size_t>(base - cdf) + (*base <= u ? 1 : 0);
}

// guide[b] = #{j : cdf[j] * n < b}: the first j whose cdf can exceed b / n. Built as a
// histogram + exclusive prefix sum (no unpredictable branches). cdf: non-decreasing, n >= 1.
inline void build_guide(const double* cdf, std::size_t n, std::vector<uint32_t>& guide) {
  const auto nd = static_cast<double>(n);
  guide.assign(n, 0u);
  for (std::size_t j = 0; j < n; ++j) {
    const std::size_t bucket = static_cast<std::size_t>(cdf[j] * nd) + 1;
    if (bucket < n) ++guide[bucket];
  }
  uint32_t below = 0;
  for (std::size_t b = 0; b < n; ++b) {
    below += guide[b];
    guide[b] = below;
  }
}

// First index with cdf[i] > u for 0 <= u < 1 and cdf.back() == 1 (the last index otherwise).
// A start that rounding moved one bucket off is corrected: too late -> binary search below it,
// too early -> the forward scan. The scan compares four entries at once and adds up the
// "<= u" results: cdf is non-decreasing, so those results are a run of trues followed by falses
// and their count is exactly how far the one-by-one scan would have stepped (at most 4). This
// replaces a loop whose trip count (usually 0-2) the branch predictor cannot guess with straight
// code; the loop branch only repeats in the rare bucket holding more than four entries.
inline std::size_t guided_upper_index(const double* cdf, const uint32_t* guide, std::size_t n,
                                      double u) {
  std::size_t j = guide[std::min(static_cast<std::size_t>(u * static_cast<double>(n)), n - 1)];
  if (j > 0 && cdf[j - 1] > u) j = upper_index(cdf, j, u);
  while (j + 4 < n) {
    const std::size_t step = static_cast<std::size_t>(cdf[j] <= u) +
                             static_cast<std::size_t>(cdf[j + 1] <= u) +
                             static_cast<std::size_t>(cdf[j + 2] <= u) +
                             static_cast<std::size_t>(cdf[j + 3] <= u);
    j += step;
    if (step < 4) return j;
  }
  while (j + 1 < n && cdf[j] <= u) ++j;  // the last few entries: one at a time
  return j;
}

}  // namespace uce::sentences::detail
