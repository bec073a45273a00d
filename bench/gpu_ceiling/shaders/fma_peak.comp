#version 450
// The fp32 FMA ceiling seen through Vulkan: CHAINS independent vec4 chains per invocation,
// x = fma(x, a, b) with a = b = 1 from push constants (so nothing folds), `iters` times.
// Chain j of invocation starts at j, so it ends at j + iters (exact while below 2^24); the host
// (vk_peak.cpp) checks it.
layout(local_size_x_id = 0) in;
layout(std430, set = 0, binding = 1) writeonly buffer Out { vec4 outv[]; };
layout(push_constant) uniform Push { uint iters; float a, b; uint period; } p;  // period: mma_peak only
#define CHAINS 8
void main() {
  vec4 x0 = vec4(0.0), x1 = vec4(1.0), x2 = vec4(2.0), x3 = vec4(3.0);
  vec4 x4 = vec4(4.0), x5 = vec4(5.0), x6 = vec4(6.0), x7 = vec4(7.0);
  vec4 a = vec4(p.a), b = vec4(p.b);
  for (uint it = 0u; it < p.iters; ++it) {
    x0 = fma(x0, a, b); x1 = fma(x1, a, b); x2 = fma(x2, a, b); x3 = fma(x3, a, b);
    x4 = fma(x4, a, b); x5 = fma(x5, a, b); x6 = fma(x6, a, b); x7 = fma(x7, a, b);
  }
  // Every invocation stores into one of 4096 slots (invocations sharing a slot write the same).
  uint base = (gl_GlobalInvocationID.x % 4096u) * CHAINS;
  outv[base + 0u] = x0; outv[base + 1u] = x1; outv[base + 2u] = x2; outv[base + 3u] = x3;
  outv[base + 4u] = x4; outv[base + 5u] = x5; outv[base + 6u] = x6; outv[base + 7u] = x7;
}
