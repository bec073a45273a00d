// blas_gelu.hpp — a vectorisable erf and the exact (erf) GELU built on it, for the LINEAR
// epilogue and the GELU op. libm's erff is a scalar call that GCC cannot vectorise; it was 9% of
// the UCE-brain forward pass on the CPU.
//
// erf(z), t = |z|:
//   t <  0.9: erf(z) = z * P(z^2)                         (P: degree 5, rel. error 1.2e-8)
//   t >= 0.9: erfc(t) = exp(-t^2) * w * R(w - 0.3), w = 1/t  (R: degree 9, t in [0.9, 6.5], rel. 3.3e-8)
//             erf(z) = sign(z) * (1 - erfc(t))
// GELU(x) = x * Phi(x) with Phi(x) = erfc(-x/sqrt2)/2, taken from erfc directly for x < 0 so that
// the negative tail keeps its RELATIVE accuracy (1 + erf(x) would cancel there).
// The coefficients are weighted least-squares minimax fits (Lawson) made by fit_gelu_erf.py next
// to this file. Branch-free and call-free: loops over these vectorise at any SIMD width.
// Errors against double precision are measured by tests/blas (kErfMaxAbsError, kGeluMaxRelError).
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

#include "blas_softmax.hpp"  // fast_expf, select_bits, all_ones_if

namespace uce::blas {

namespace gelu_detail {

// erf(z) / z for |z| < 0.9, as a polynomial in s = z^2.
[[gnu::always_inline]] inline float erf_small_over_z(float s) {
  float p = -6.090357253e-04f;
  p = p * s + 5.011961191e-03f;
  p = p * s + -2.677890675e-02f;
  p = p * s + 1.128214070e-01f;
  p = p * s + -3.761252326e-01f;
  p = p * s + 1.128379154e+00f;
  return p;
}

// e^(-c a^2) for c = 1 or 1/2 (a power of two keeps c * ah^2 exact). The square is split so that
// the large part of the exponent is exact: a rounded a^2 would carry an absolute error of
// a^2 * 6e-8, i.e. a relative error of 2.4e-6 in e^(-a^2/2) at a = 9 (GELU's far tail).
// ah keeps a's top 12 mantissa bits, so ah * ah is exact; the rest, lo = -c (a + ah)(a - ah), is
// below c a^2 2^-10 in size, and e^lo is its Taylor series to degree 4 (error < 1e-9 for the
// |lo| <= 0.04 of c a^2 <= 40.5, i.e. GELU at x >= -9; below e^-87 fast_expf returns 0 anyway).
[[gnu::always_inline]] inline float exp_neg_scaled_square(float a, float c) {
  const float ah = std::bit_cast<float>(std::bit_cast<uint32_t>(a) & 0xFFFFF000u);
  const float hi = -(c * (ah * ah));
  const float lo = -(c * ((a + ah) * (a - ah)));
  const float e_lo = 1.0f + lo * (1.0f + lo * (0.5f + lo * (1.0f / 6.0f + lo * (1.0f / 24.0f))));
  return fast_expf(hi) * e_lo;
}

// erfc(t) for t = a * t_scale >= 0.9, with t_scale = 1 (erf) or 1/sqrt 2 (GELU, a = |x|), and
// c = t_scale^2 so that e^(-t^2) = e^(-c a^2) is taken from a itself. a is clamped to
// [0.9, 20] / t_scale: below, the caller uses the small branch; above, erfc is 0 in float (and
// a = inf would make a - ah NaN). R was fitted up to t = 6.5; beyond, the extrapolated R stays
// near erfc's asymptote 1/sqrt(pi) while e^(-t^2) < 1e-18, so GELU's far negative tail is ~0 with
// an absolute error < 1e-18 (tests/blas checks it).
[[gnu::always_inline]] inline float erfc_tail(float a, float t_scale, float c) {
  const float lo_a = 0.9f / t_scale, hi_a = 20.0f / t_scale;
  // Clamps with select_bits: GCC keeps a float ?: as a branch at some SIMD levels (blas_softmax.hpp).
  const float a_lo = select_bits(all_ones_if(a < lo_a), lo_a, a);
  const float ac = select_bits(all_ones_if(a_lo > hi_a), hi_a, a_lo);
  const float w = 1.0f / (ac * t_scale);
  const float v = w - 0.3f;  // the fit's shifted variable: small coefficients, little cancellation
  float r = -3.963680145e-02f;
  r = r * v + 1.731900417e-01f;
  r = r * v + -3.273752110e-01f;
  r = r * v + 3.349333509e-01f;
  r = r * v + -1.541476131e-01f;
  r = r * v + -8.189919237e-02f;
  r = r * v + 2.080077699e-01f;
  r = r * v + -1.355766880e-01f;
  r = r * v + -1.346007334e-01f;
  r = r * v + 5.416331874e-01f;
  return exp_neg_scaled_square(ac, c) * (w * r);
}

constexpr float kSmallLimit = 0.9f;

}  // namespace gelu_detail

// erf in float. Max abs error against double erf: kErfMaxAbsError. NaN propagates.
[[gnu::always_inline]] inline float fast_erff(float z) {
  using namespace gelu_detail;
  const float t = std::fabs(z);
  const float small = z * erf_small_over_z(z * z);
  const float large_abs = 1.0f - erfc_tail(t, 1.0f, 1.0f);
  const float large = select_bits(all_ones_if(z < 0.0f), -large_abs, large_abs);
  return select_bits(all_ones_if(t < kSmallLimit), small, large);
}

// GELU(x) = 0.5 x (1 + erf(x / sqrt 2)) (PyTorch's default, approximate='none').
[[gnu::always_inline]] inline float fast_gelu(float x) {
  using namespace gelu_detail;
  constexpr float kInvSqrt2 = 0.70710678118654752f;
  const float z = x * kInvSqrt2;
  const float t = std::fabs(z);
  // c = erfc(t) = 2 * Phi(-|x|)
  const float c_small = 1.0f - t * erf_small_over_z(t * t);
  const float c = select_bits(all_ones_if(t < kSmallLimit), c_small, erfc_tail(std::fabs(x), kInvSqrt2, 0.5f));
  const float phi = select_bits(all_ones_if(x < 0.0f), 0.5f * c, 1.0f - 0.5f * c);
  return x * phi;
}

// Limits the tests hold these functions to (measured values are in tests/blas/test_gelu_erf.cpp).
inline constexpr double kErfMaxAbsError = 2.0e-7;
// GELU relative error for x >= -9 (where |GELU| > 1e-18); absolute error elsewhere is < 1e-18.
inline constexpr double kGeluMaxRelError = 1.0e-6;

// dst[c] = gelu(src[c]) over n elements (src may equal dst). Built per SIMD level (target_clones).
void gelu_span(const float* src, float* dst, int64_t n);
// dst[c] = act(dst[c] + bias[c]) (bias may be null; act one of UCE_ACT_*). target_clones too.
void bias_activation_span(float* dst, const float* bias, int64_t n, int activation);

}  // namespace uce::blas
