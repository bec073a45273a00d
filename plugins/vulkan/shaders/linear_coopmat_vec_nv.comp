#version 450
// LINEAR on tensor cores (GL_NV_cooperative_matrix), the vectorised variant: fp16 x and fp16 W,
// rows 16-byte aligned, K a multiple of 8. The plugin gives it the fp16 weight copies
// (vk_weights.cpp) and an fp16 copy of the f32 activations made just before (vk_ops.cpp): reading
// f32 x here and converting per tile made the GEMM twice as slow on the H100 (bench/RESULTS.md,
// 2026-11-23: 3.47 -> 1.80 ms for the q|k|v projection at batch 32) — the load path, not the
// multiply-adds, was the limit. Same tiling as linear_coopmat_nv.comp (128 x 128 per workgroup of
// 8 subgroups, each 64 x 32, K steps of 64, next tile prefetched into registers); every global read
// is 16 bytes (8 halfs) and shared memory is addressed in uvec4 (the cooperative-matrix loads take
// offsets and strides in uvec4 units).
// Macros: CM_M (16), CM_N, CM_K = a matrix shape the device reports; TN = 32 / CM_N as a plain
// integer; ACC_F16 for fp16 accumulators.
// Grid: x = ceil(M/128), y = ceil(n/128).
#extension GL_GOOGLE_include_directive : require
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#define BM 128u
#define BN 128u
// K steps of 64 (half the barriers and loop overhead per MMA of K = 32): on the H100 the kernel then
// runs as fast as its MMAs alone (run 5, RESULTS.md).
#define BK 64u
#define PV 9u  // shared row pitch in uvec4 (72 halfs = 144 bytes)
#define CPR (BK / 8u)  // uvec4 chunks per tile row
// 8 subgroups (2 x 4), each 64 x 32 of the tile: 4 x TN matrices of CM_M x CM_N.
#define NSG 8u
#define SGM 64u
#define SGN 32u
#define SG_COLS (BN / SGN)  // subgroups across the tile's columns
#define NT (NSG * 32u)
#define SLOTS (BM * BK / 8u / NT)  // uvec4 loader slots per invocation
#ifdef ACC_F16
#define ACC_BITS 16
#else
#define ACC_BITS 32
#endif
#define A_OFF(i, kk) ((sm + (i) * CM_M) * PV + (kk) / 8u)  // As/Bs in uvec4 units
#define B_OFF(j, kk) ((sn + (j) * CM_N) * PV + (kk) / 8u)
#define TILE_PITCH PV
#include "coopmat_tile.glsl"
layout(local_size_x = NT) in;
layout(std430, set = 0, binding = 0) readonly buffer X { uvec4 x8[]; };
layout(std430, set = 0, binding = 1) readonly buffer W { uvec4 w8[]; };
layout(std430, set = 0, binding = 2) readonly buffer Bias { float bias[]; };
layout(std430, set = 0, binding = 3) writeonly buffer Dst { float dst[]; };
layout(push_constant) uniform Push {
  uint row0, n_rows, n_out, k_dim;
  uint x_off, x_stride, w_off, w_stride, b_off, has_bias, act, d_off, d_stride;  // in elements
} p;

shared uvec4 As[BM * PV];  // x tile, row-major [BM][BK] as fp16
shared uvec4 Bs[BN * PV];  // W tile, row-major [BN][BK] = column-major B = W^T
shared float Cs[NSG * CM_M * CM_N];

void main() {
  uint t = gl_LocalInvocationID.x;
  uint m0 = p.row0 + gl_WorkGroupID.y * BM;
  uint n0 = gl_WorkGroupID.x * BN;
  uint sg = gl_SubgroupID, lane = gl_SubgroupInvocationID;
  uint sm = (sg / SG_COLS) * SGM, sn = (sg % SG_COLS) * SGN;

  DECLARE_ACCUMULATORS

  // Loader slot s = t + NT i: tile row s / CPR, 8-half chunk s % CPR.
  uvec4 ra[SLOTS], rb[SLOTS];
#define FETCH(k0)                                                                             \
  [[unroll]] for (uint i = 0u; i < SLOTS; ++i) {                                              \
    uint s = t + NT * i, row = s / CPR, k = (k0) + 8u * (s % CPR);                          \
    uint xr = m0 + row, wr = n0 + row;                                                        \
    ra[i] = uvec4(0u);                                                                        \
    rb[i] = uvec4(0u);                                                                        \
    if (k < p.k_dim && xr < p.n_rows) {                                                       \
      ra[i] = x8[(p.x_off + xr * p.x_stride + k) >> 3u];                                      \
    }                                                                                         \
    if (k < p.k_dim && wr < p.n_out) rb[i] = w8[(p.w_off + wr * p.w_stride + k) >> 3u];       \
  }
  FETCH(0u)
  for (uint k0 = 0u; k0 < p.k_dim; k0 += BK) {
    [[unroll]] for (uint i = 0u; i < SLOTS; ++i) {
      uint s = t + NT * i;
      As[(s / CPR) * PV + (s % CPR)] = ra[i];
      Bs[(s / CPR) * PV + (s % CPR)] = rb[i];
    }
    barrier();
    if (k0 + BK < p.k_dim) { FETCH(k0 + BK) }
    [[unroll]] for (uint kk = 0u; kk < BK; kk += CM_K) MMA_STEP(kk)
    barrier();
  }

  uint cbase = sg * CM_M * CM_N;
  STORE_ACCUMULATORS
}
