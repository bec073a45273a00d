// fast_expf (plugins/blas/blas_softmax.hpp, the attention softmax's exp) against double exp over
// the softmax's input range [-87, 0] (the softmax subtracts the row max, so inputs are <= 0).
// The default sweep takes every 31st float (35 million values, all exponents and a spread of
// mantissas); UCE_BLAS_EXHAUSTIVE=1 takes every float (1.1e9 values, about 10 s).
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>

#include "blas_softmax.hpp"

namespace {

// The measured error, for the XML report (--gtest_output=xml): "1.31e-07".
std::string format_error(double e) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", e);
  return buf;
}

uint32_t sweep_step() {
  const char* e = std::getenv("UCE_BLAS_EXHAUSTIVE");
  return e && e[0] == '1' ? 1u : 31u;
}

TEST(FastExpf, RelativeErrorOverSoftmaxRange) {
  // Negative floats ordered by bit pattern: -0 = 0x80000000 up to -87 (larger = more negative).
  const uint32_t lo = 0x80000000u, hi = std::bit_cast<uint32_t>(-87.0f);
  const uint32_t step = sweep_step();
  double max_rel = 0.0;
  float worst = 0.0f;
  for (uint32_t b = lo; b <= hi; b += step) {
    const float x = std::bit_cast<float>(b);
    const double ref = std::exp(static_cast<double>(x));
    const double rel = std::fabs(static_cast<double>(uce::blas::fast_expf(x)) - ref) / ref;
    if (rel > max_rel) {
      max_rel = rel;
      worst = x;
    }
  }
  EXPECT_LE(max_rel, uce::blas::kExpMaxRelError) << "worst at x = " << worst;
  RecordProperty("max_rel_error", format_error(max_rel));
}

TEST(FastExpf, PositiveInputsUpTo88) {
  // Not used by the softmax, but the clamp at 88 must not break the range below it.
  double max_rel = 0.0;
  for (float x = 0.0f; x <= 88.0f; x += 0.001f) {
    const double ref = std::exp(static_cast<double>(x));
    max_rel = std::max(max_rel, std::fabs(static_cast<double>(uce::blas::fast_expf(x)) - ref) / ref);
  }
  EXPECT_LE(max_rel, uce::blas::kExpMaxRelError);
}

TEST(FastExpf, MaskedAndUnderflowingInputsGiveExactZero) {
  for (float x : {-std::numeric_limits<float>::infinity(), -1000.0f, -87.5f, -100.0f})
    EXPECT_EQ(uce::blas::fast_expf(x), 0.0f) << "x = " << x;
}

TEST(FastExpf, NaNPropagates) {
  EXPECT_TRUE(std::isnan(uce::blas::fast_expf(std::numeric_limits<float>::quiet_NaN())));
}

TEST(FastExpf, ExactAtZero) { EXPECT_EQ(uce::blas::fast_expf(0.0f), 1.0f); }

}  // namespace
