#version 450
// LINEAR, scalar tiled GEMM for larger problems, fused bias + activation:
//   dst[r, o] = act(sum_k x[r,k] * W[o,k] + b[o])      x [n,K] f32, W [M,K] (W_F32/W_F16/W_BF16)
// Each 256-invocation workgroup computes a 128x128 output tile, stepping K by 16 through shared
// memory (k-major, so one vec4 read gives 4 rows); each invocation owns an 8x8 register block:
// rows 4ty..4ty+3 and 64+4ty.., columns 4tx.. and 64+4tx.. (two vec4 reads of each operand per k,
// 64 FMAs per 4 shared reads). The next K tile is fetched into registers while this one is used.
// Global reads: a subgroup instruction covers 2 rows x 16 consecutive k.
// (Measured on an H100: this single-buffered K=16 form beat a double-buffered K=8 form, 0.65 vs
// 0.96 ms for the UCE ffn.down GEMM.)
// Grid: x = ceil(M/128), y = ceil(n/128).
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#define BM 128u
#define BN 128u
#define BK 16u
#define P4 33u  // shared row pitch in vec4 (132 floats): the transposed stores spread over banks
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) readonly buffer W { W_STORAGE w[]; };
layout(std430, set = 0, binding = 2) readonly buffer Bias { float bias[]; };
layout(std430, set = 0, binding = 3) writeonly buffer Dst { float dst[]; };
layout(push_constant) uniform Push {
  uint row0, n_rows, n_out, k_dim;
  uint x_off, x_stride, w_off, w_stride, b_off, has_bias, act, d_off, d_stride;
} p;

shared vec4 As[BK * P4];  // As[k][row] (row in floats: As[k*P4 + row/4][row%4])
shared vec4 Bs[BK * P4];

void main() {
  uint t = gl_LocalInvocationID.x;
  uint tx = t % 16u, ty = t / 16u;
  uint m0 = p.row0 + gl_WorkGroupID.y * BM;
  uint n0 = gl_WorkGroupID.x * BN;
  uint lk = t % 16u, lr = t / 16u;  // loader: k = lk, rows lr + 16 i
  vec4 acc[8][2];  // acc[i][jh]: row ri(i), columns 4tx + 64 jh + (0..3)
  [[unroll]] for (uint i = 0u; i < 8u; ++i) { acc[i][0] = vec4(0.0); acc[i][1] = vec4(0.0); }

  float ra[8], rb[8];
  {
    uint k = lk;
    [[unroll]] for (uint i = 0u; i < 8u; ++i) {
      uint xr = m0 + lr + 16u * i, wr = n0 + lr + 16u * i;
      ra[i] = (k < p.k_dim && xr < p.n_rows) ? x[p.x_off + xr * p.x_stride + k] : 0.0;
      rb[i] = (k < p.k_dim && wr < p.n_out) ? w_to_f32(w[p.w_off + wr * p.w_stride + k]) : 0.0;
    }
  }
  for (uint k0 = 0u; k0 < p.k_dim; k0 += BK) {
    [[unroll]] for (uint i = 0u; i < 8u; ++i) {
      uint row = lr + 16u * i;
      As[lk * P4 + row / 4u][row % 4u] = ra[i];
      Bs[lk * P4 + row / 4u][row % 4u] = rb[i];
    }
    barrier();
    if (k0 + BK < p.k_dim) {
      uint k = k0 + BK + lk;
      [[unroll]] for (uint i = 0u; i < 8u; ++i) {
        uint xr = m0 + lr + 16u * i, wr = n0 + lr + 16u * i;
        ra[i] = (k < p.k_dim && xr < p.n_rows) ? x[p.x_off + xr * p.x_stride + k] : 0.0;
        rb[i] = (k < p.k_dim && wr < p.n_out) ? w_to_f32(w[p.w_off + wr * p.w_stride + k]) : 0.0;
      }
    }
    [[unroll]] for (uint k = 0u; k < BK; ++k) {
      vec4 a0 = As[k * P4 + ty], a1 = As[k * P4 + 16u + ty];
      vec4 b0 = Bs[k * P4 + tx], b1 = Bs[k * P4 + 16u + tx];
      float a[8] = float[8](a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w);
      [[unroll]] for (uint i = 0u; i < 8u; ++i) {
        acc[i][0] = fma(vec4(a[i]), b0, acc[i][0]);
        acc[i][1] = fma(vec4(a[i]), b1, acc[i][1]);
      }
    }
    barrier();
  }

  [[unroll]] for (uint jh = 0u; jh < 2u; ++jh) {
    [[unroll]] for (uint jj = 0u; jj < 4u; ++jj) {
      uint o = n0 + 64u * jh + 4u * tx + jj;
      if (o >= p.n_out) continue;
      float bo = p.has_bias != 0u ? bias[p.b_off + o] : 0.0;
      [[unroll]] for (uint i = 0u; i < 8u; ++i) {
        uint r = m0 + 64u * (i / 4u) + 4u * ty + (i % 4u);
        if (r < p.n_rows) dst[p.d_off + r * p.d_stride + o] = apply_act(acc[i][jh][jj] + bo, p.act);
      }
    }
  }
}
