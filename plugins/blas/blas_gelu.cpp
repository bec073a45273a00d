// blas_gelu.cpp — the GELU and bias + activation loops, built three times (target_clones: AVX-512,
// AVX2+FMA, baseline x86-64) with the best picked when the plugin is loaded, like the softmax.
#include "blas_gelu.hpp"

#include "uce/uce_plugin.h"

namespace uce::blas {

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void gelu_span(const float* src, float* dst, int64_t n) {
#pragma omp simd
  for (int64_t c = 0; c < n; ++c) dst[c] = fast_gelu(src[c]);
}

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void bias_activation_span(float* dst, const float* bias, int64_t n, int activation) {
  // One pass per row: the bias add and the activation share the load and the store.
  if (activation == UCE_ACT_GELU) {
    if (bias) {
#pragma omp simd
      for (int64_t c = 0; c < n; ++c) dst[c] = fast_gelu(dst[c] + bias[c]);
    } else {
#pragma omp simd
      for (int64_t c = 0; c < n; ++c) dst[c] = fast_gelu(dst[c]);
    }
  } else if (activation == UCE_ACT_RELU) {
    if (bias) {
#pragma omp simd
      for (int64_t c = 0; c < n; ++c) {
        const float v = dst[c] + bias[c];
        dst[c] = v > 0.0f ? v : 0.0f;
      }
    } else {
#pragma omp simd
      for (int64_t c = 0; c < n; ++c) dst[c] = dst[c] > 0.0f ? dst[c] : 0.0f;
    }
  } else if (bias) {
#pragma omp simd
    for (int64_t c = 0; c < n; ++c) dst[c] += bias[c];
  }
}

}  // namespace uce::blas
