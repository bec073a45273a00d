// check_fast_expf.cpp — measures fast_expf (blas_softmax.hpp) against double-precision exp over
// the softmax's input range and fails (exit status 1) when the max relative error exceeds
// kExpMaxRelError or when -inf / very negative inputs do not give exactly 0.
//   blas_check_fast_expf          every float in [-87, 0] (about 1.1e9 values, ~10 s)
//   blas_check_fast_expf --quick  every 64th float
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <limits>

#include "blas_softmax.hpp"

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const uint32_t step = quick ? 64 : 1;
  // Negative floats ordered by bit pattern: -0 = 0x80000000 up to -87 (larger patterns = more negative).
  const uint32_t lo = 0x80000000u, hi = std::bit_cast<uint32_t>(-87.0f);
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
  bool ok = max_rel <= uce::blas::kExpMaxRelError;
  for (float x : {-std::numeric_limits<float>::infinity(), -1000.0f, -87.5f, -100.0f})
    if (uce::blas::fast_expf(x) != 0.0f) {
      std::printf("FAIL: fast_expf(%g) = %g, expected 0\n", static_cast<double>(x),
                  static_cast<double>(uce::blas::fast_expf(x)));
      ok = false;
    }
  if (!std::isnan(uce::blas::fast_expf(std::numeric_limits<float>::quiet_NaN()))) {
    std::printf("FAIL: fast_expf(NaN) is not NaN\n");
    ok = false;
  }
  std::printf("fast_expf over [-87, 0]%s: max relative error %.3g at x = %.9g (limit %.3g) -> %s\n",
              quick ? " (every 64th float)" : " (every float)", max_rel, static_cast<double>(worst),
              uce::blas::kExpMaxRelError, ok ? "ok" : "FAIL");
  return ok ? 0 : 1;
}
