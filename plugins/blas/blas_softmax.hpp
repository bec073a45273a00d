// blas_softmax.hpp — the attention softmax's row kernel and the vectorisable expf it is built on.
#pragma once

#include <bit>
#include <cstdint>

namespace uce::blas {

// Bitwise select (a where the mask bits are set, else b). GCC vectorises this at every SIMD width;
// a float `?:` it leaves as a branch for plain SSE2, which keeps the whole loop scalar.
inline float select_bits(uint32_t mask, float a, float b) {
  return std::bit_cast<float>((std::bit_cast<uint32_t>(a) & mask) | (std::bit_cast<uint32_t>(b) & ~mask));
}
inline uint32_t all_ones_if(bool c) { return 0u - static_cast<uint32_t>(c); }

// e^x in float: Cody-Waite reduction x = k ln2 + r with |r| <= ln2/2, Cephes' expf polynomial for
// e^r, and 2^k put into the exponent bits. Below -87 (where e^x is near the subnormal range) it
// returns exactly 0, so -inf (a masked key) gives 0; above 88 it returns e^88; NaN stays NaN.
// Branch-free and call-free, so GCC vectorises loops over it at any SIMD width without
// -ffast-math. Max relative error against exp in double: kExpMaxRelError.
inline float fast_expf(float x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f;     // ln 2 split: hi has few mantissa bits, so k*hi is
  constexpr float kLn2Lo = -2.12194440e-4f;  // exact for the |k| <= 127 used here
  constexpr float kRound = 12582912.0f;      // 1.5 * 2^23: adding it rounds to an integer
  const uint32_t not_low = all_ones_if(!(x < -87.0f));  // NaN counts as in range: it propagates
  const uint32_t not_high = all_ones_if(!(x > 88.0f));
  const float xc = select_bits(not_low & not_high, x, not_low ? 88.0f : -87.0f);
  const float t = xc * kLog2e + kRound;  // k + 1.5*2^23: its low mantissa bits hold k
  const float k = t - kRound;
  const float r = (xc - k * kLn2Hi) - k * kLn2Lo;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float er = (p * r) * r + r + 1.0f;
  // k in [-126, 127], read from t's bits (a float->int conversion of NaN would be undefined).
  const int32_t ki = std::bit_cast<int32_t>(t) - std::bit_cast<int32_t>(kRound);
  const float two_k = std::bit_cast<float>(static_cast<uint32_t>(ki + 127) << 23);
  return select_bits(not_low, er * two_k, 0.0f);
}

// Max relative error of fast_expf vs double-precision exp over every float in [-87, 0], measured
// by tests/blas/test_fast_expf.cpp (test_blas_math), which fails when it is exceeded.
inline constexpr double kExpMaxRelError = 2.0e-7;

// Softmax of `rows` rows of `n` logits each (row stride `ld`), in place and UNNORMALISED:
// row t becomes exp(s + bias - max) with masked keys 0, and inv_sum[t] = 1 / its sum, or 0 when
// every key of the row is masked (or every logit is -inf; the row is then all zeros).
// `bias` / `mask` (length n, shared by all rows) may be null. Dispatched at load time to an
// AVX-512, AVX2+FMA or baseline build of the same code (GCC target_clones).
void softmax_rows_unnormalised(float* s, int64_t rows, int64_t n, int64_t ld, const float* bias,
                               const uint8_t* mask, float* inv_sum);

}  // namespace uce::blas
