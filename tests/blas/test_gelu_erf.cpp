// fast_erff / fast_gelu (plugins/blas/blas_gelu.hpp, the LINEAR epilogue's GELU) and the
// dispatched loops built on them (gelu_span, bias_activation_span), against double-precision
// std::erf / std::erfc. Sweeps: every 97th float bit pattern of each sign (all exponents, a spread
// of mantissas: 2 x 22 million values) and a uniform grid of step 1e-4 over [-12, 12] where GELU
// is not flat; UCE_BLAS_EXHAUSTIVE=1 takes every float bit pattern.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "blas_gelu.hpp"
#include "uce/uce_plugin.h"

namespace {

// The measured error, for the XML report (--gtest_output=xml): "1.31e-07".
std::string format_error(double e) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", e);
  return buf;
}

using uce::blas::fast_erff;
using uce::blas::fast_gelu;

uint32_t sweep_step() {
  const char* e = std::getenv("UCE_BLAS_EXHAUSTIVE");
  return e && e[0] == '1' ? 1u : 97u;
}

// Calls f(x) for every visited finite float of both signs.
template <typename F>
void for_each_float(F&& f) {
  const uint32_t step = sweep_step();
  for (uint32_t b = 0; b < 0x7f800000u; b += step) {
    f(std::bit_cast<float>(b));
    f(std::bit_cast<float>(b | 0x80000000u));
  }
  for (double x = -12.0; x <= 12.0; x += 1e-4) f(static_cast<float>(x));
}

// Calls check(x, y) for the same floats with y = gelu_span(x), i.e. the SIMD build the plugin
// dispatches to (its loops may contract into FMAs, so it is tested itself, in blocks).
template <typename F>
void for_each_gelu_span(F&& check) {
  std::vector<float> xs, ys;
  auto flush = [&] {
    ys.resize(xs.size());
    uce::blas::gelu_span(xs.data(), ys.data(), static_cast<int64_t>(xs.size()));
    for (size_t i = 0; i < xs.size(); ++i) check(xs[i], ys[i]);
    xs.clear();
  };
  for_each_float([&](float x) {
    xs.push_back(x);
    if (xs.size() == 4099) flush();  // odd size: the vector loops' tails run too
  });
  flush();
}

double gelu_ref(double x) { return 0.5 * x * std::erfc(-x / std::sqrt(2.0)); }

TEST(FastErf, MaxAbsErrorAgainstDoubleErf) {
  double max_abs = 0.0;
  float worst = 0.0f;
  for_each_float([&](float z) {
    const double e = std::fabs(static_cast<double>(fast_erff(z)) - std::erf(static_cast<double>(z)));
    if (e > max_abs) {
      max_abs = e;
      worst = z;
    }
  });
  EXPECT_LE(max_abs, uce::blas::kErfMaxAbsError) << "worst at z = " << worst;
  RecordProperty("max_abs_error", format_error(max_abs));
}

TEST(FastErf, OddAndSaturating) {
  for (float z : {0.1f, 0.5f, 0.9f, 1.3f, 2.0f, 3.5f}) EXPECT_EQ(fast_erff(-z), -fast_erff(z)) << z;
  EXPECT_EQ(fast_erff(0.0f), 0.0f);
  EXPECT_EQ(fast_erff(10.0f), 1.0f);
  EXPECT_EQ(fast_erff(-10.0f), -1.0f);
  EXPECT_EQ(fast_erff(std::numeric_limits<float>::infinity()), 1.0f);
  EXPECT_TRUE(std::isnan(fast_erff(std::numeric_limits<float>::quiet_NaN())));
}

// Relative error where GELU is a normal float of meaningful size (x >= -9: |GELU| > 1e-19; the
// tiny-|x| end stops at 1e-30 so that subnormal products are not counted); absolute error
// everywhere else must be negligible. Checked for the scalar function and the dispatched loop.
struct GeluErrors {
  double max_rel = 0.0, max_abs_outside = 0.0;
  float worst = 0.0f;
  void add(float x, float y) {
    const double ref = gelu_ref(static_cast<double>(x));
    if (x >= -9.0f && std::fabs(x) >= 1e-30f) {
      const double rel = std::fabs(static_cast<double>(y) - ref) / std::fabs(ref);
      if (rel > max_rel) {
        max_rel = rel;
        worst = x;
      }
    } else {
      max_abs_outside = std::max(max_abs_outside, std::fabs(static_cast<double>(y) - ref));
    }
  }
};

TEST(FastGelu, RelativeErrorAgainstDoubleErfc) {
  GeluErrors e;
  for_each_float([&](float x) { e.add(x, fast_gelu(x)); });
  EXPECT_LE(e.max_rel, uce::blas::kGeluMaxRelError) << "worst at x = " << e.worst;
  EXPECT_LE(e.max_abs_outside, 1e-18);
  RecordProperty("max_rel_error", format_error(e.max_rel));
}

TEST(GeluSpans, DispatchedLoopRelativeError) {
  GeluErrors e;
  for_each_gelu_span([&](float x, float y) { e.add(x, y); });
  EXPECT_LE(e.max_rel, uce::blas::kGeluMaxRelError) << "worst at x = " << e.worst;
  EXPECT_LE(e.max_abs_outside, 1e-18);
  RecordProperty("max_rel_error", format_error(e.max_rel));
}

TEST(FastGelu, SpecialValues) {
  EXPECT_EQ(fast_gelu(0.0f), 0.0f);
  EXPECT_EQ(fast_gelu(std::numeric_limits<float>::infinity()), std::numeric_limits<float>::infinity());
  EXPECT_EQ(fast_gelu(-100.0f), 0.0f);
  EXPECT_TRUE(std::isnan(fast_gelu(std::numeric_limits<float>::quiet_NaN())));
}

// bias_activation_span (the LINEAR epilogue): bias add and each activation, with and without bias.
TEST(GeluSpans, BiasActivation) {
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.0f, 3.0f);
  const int64_t n = 1000;  // not a multiple of any vector width: the tails are covered too
  std::vector<float> x(n), bias(n), y(n);
  for (int64_t i = 0; i < n; ++i) {
    x[i] = dist(rng);
    bias[i] = dist(rng);
  }
  for (int act : {UCE_ACT_NONE, UCE_ACT_GELU, UCE_ACT_RELU}) {
    y = x;
    uce::blas::bias_activation_span(y.data(), bias.data(), n, act);
    for (int64_t i = 0; i < n; ++i) {
      const double v = static_cast<double>(x[i]) + bias[i];
      const double want = act == UCE_ACT_GELU ? gelu_ref(v) : act == UCE_ACT_RELU ? std::max(v, 0.0) : v;
      EXPECT_NEAR(y[i], want, 1e-6 * std::max(1.0, std::fabs(want))) << "act " << act << " i " << i;
    }
    y = x;
    uce::blas::bias_activation_span(y.data(), nullptr, n, act);
    for (int64_t i = 0; i < n; ++i) {
      const double v = x[i];
      const double want = act == UCE_ACT_GELU ? gelu_ref(v) : act == UCE_ACT_RELU ? std::max(v, 0.0) : v;
      EXPECT_NEAR(y[i], want, 1e-6 * std::max(1.0, std::fabs(want))) << "no bias, act " << act << " i " << i;
    }
  }
}

}  // namespace
