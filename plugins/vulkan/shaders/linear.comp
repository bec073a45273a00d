#version 450
// LINEAR, scalar tiled GEMM with fused bias + activation:
//   dst[r, o] = act(sum_k x[r,k] * W[o,k] + b[o])      x [n,K] f32, W [M,K] (W_F32/W_F16/W_BF16)
// Each 256-invocation workgroup computes a 64x64 output tile, stepping K by 16 through shared
// memory; each invocation owns a 4x4 register block laid out with stride 16 so shared reads are
// conflict-free and global stores coalesce. Grid: x = ceil(M/64), y = ceil(n/64).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#define BM 64u
#define BN 64u
#define BK 16u
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) readonly buffer W { W_STORAGE w[]; };
layout(std430, set = 0, binding = 2) readonly buffer Bias { float bias[]; };
layout(std430, set = 0, binding = 3) writeonly buffer Dst { float dst[]; };
layout(push_constant) uniform Push {
  uint row0, n_rows, n_out, k_dim;
  uint x_off, x_stride, w_off, w_stride, b_off, has_bias, act, d_off, d_stride;
} p;

shared float As[BK][BM + 4u];
shared float Bs[BK][BN + 4u];

void main() {
  uint t = gl_LocalInvocationID.x;
  uint tx = t % 16u, ty = t / 16u;
  uint m0 = p.row0 + gl_WorkGroupID.y * BM;  // first x row of the tile
  uint n0 = gl_WorkGroupID.x * BN;           // first output column of the tile
  // Tile loaders: invocation t fetches 4 consecutive k of one row of x and one row of W.
  uint lr = t / 4u, lk = (t % 4u) * 4u;
  float acc[4][4];
  for (uint i = 0u; i < 4u; ++i)
    for (uint j = 0u; j < 4u; ++j) acc[i][j] = 0.0;

  for (uint k0 = 0u; k0 < p.k_dim; k0 += BK) {
    uint xr = m0 + lr, wr = n0 + lr;
    for (uint e = 0u; e < 4u; ++e) {
      uint k = k0 + lk + e;
      As[lk + e][lr] = (xr < p.n_rows && k < p.k_dim) ? x[p.x_off + xr * p.x_stride + k] : 0.0;
      Bs[lk + e][lr] = (wr < p.n_out && k < p.k_dim) ? w_to_f32(w[p.w_off + wr * p.w_stride + k]) : 0.0;
    }
    barrier();
    for (uint k = 0u; k < BK; ++k) {
      float a[4], b[4];
      for (uint i = 0u; i < 4u; ++i) a[i] = As[k][ty + 16u * i];
      for (uint j = 0u; j < 4u; ++j) b[j] = Bs[k][tx + 16u * j];
      for (uint i = 0u; i < 4u; ++i)
        for (uint j = 0u; j < 4u; ++j) acc[i][j] = fma(a[i], b[j], acc[i][j]);
    }
    barrier();
  }

  for (uint j = 0u; j < 4u; ++j) {
    uint o = n0 + tx + 16u * j;
    if (o >= p.n_out) continue;
    float bo = p.has_bias != 0u ? bias[p.b_off + o] : 0.0;
    for (uint i = 0u; i < 4u; ++i) {
      uint r = m0 + ty + 16u * i;
      if (r < p.n_rows) dst[p.d_off + r * p.d_stride + o] = apply_act(acc[i][j] + bo, p.act);
    }
  }
}
