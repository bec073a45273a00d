#version 450
// LINEAR with fp32 accuracy on fp16 tensor cores ("3xFP16"), for fp32 runs (allow_coopmat without
// allow_fp16). x and W come as split_f16x2.comp writes them: hi and lo fp16 matrices (rows
// [0, rows) and [rows, 2 rows) of one view) and a power-of-two scale per row. Each output is
//   y[r, o] = sx[r] * sw[o] * sum_k (xhi wlo + xlo whi + xhi whi) + bias[o]
// the dropped xlo wlo term below 2^-22 of it. The tensor cores' f32 sums truncate, so each 32-deep
// K step is summed in its own accumulators (q..) and added to the running sums (c..) in f32, as
// the OpenCL 3xTF32 GEMM does (bench/RESULTS.md).
// Tiling as linear_coopmat_vec_nv.comp (128 x 128 per workgroup of 8 subgroups, each 64 x 32,
// next tile prefetched into registers), but K steps of 32: the four tiles take 40 KiB of shared
// memory. Rows of x and W must be 16-byte aligned (K a multiple of 8).
// Macros: CM_M (16), CM_N, CM_K = a matrix shape the device reports; TN = 32 / CM_N.
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
#define BK 32u
#define PV 5u          // shared row pitch in uvec4 (40 halfs = 80 bytes: 8 rows hit 8 bank groups)
#define CPR (BK / 8u)  // uvec4 chunks per tile row
#define NSG 8u
#define SGM 64u
#define SGN 32u
#define SG_COLS (BN / SGN)
#define NT (NSG * 32u)
#define SLOTS (BM * BK / 8u / NT)  // uvec4 loader slots per invocation and matrix
#define ACC_BITS 32
#define A_OFF(i, kk) ((sm + (i) * CM_M) * PV + (kk) / 8u)
#define B_OFF(j, kk) ((sn + (j) * CM_N) * PV + (kk) / 8u)
#define TILE_PITCH PV
// The epilogue (coopmat_tile.glsl) undoes the row scales.
#define OUT_SCALE(r, o) (xs[p.xs_off + (r)] * ws[p.ws_off + (o)])
#include "coopmat_tile.glsl"
layout(local_size_x = NT) in;
layout(std430, set = 0, binding = 0) readonly buffer X { uvec4 x8[]; };
layout(std430, set = 0, binding = 1) readonly buffer W { uvec4 w8[]; };
layout(std430, set = 0, binding = 2) readonly buffer Bias { float bias[]; };
layout(std430, set = 0, binding = 3) writeonly buffer Dst { float dst[]; };
layout(std430, set = 0, binding = 4) readonly buffer XS { float xs[]; };
layout(std430, set = 0, binding = 5) readonly buffer WS { float ws[]; };
layout(push_constant) uniform Push {
  uint row0, n_rows, n_out, k_dim;
  uint x_off, x_stride, w_off, w_stride, b_off, has_bias, act, d_off, d_stride;  // in elements
  uint xs_off, ws_off;
} p;

shared uvec4 Ah[BM * PV], Al[BM * PV];  // x tile hi / lo, row-major [BM][BK] as fp16
shared uvec4 Bh[BN * PV], Bl[BN * PV];  // W tile hi / lo, row-major [BN][BK] = column-major W^T
shared float Cs[NSG * CM_M * CM_N];

// Per K step of CM_K: A fragments hi (a) and lo (e), B fragments hi (b) and lo (f), three
// multiply-adds per pair into this step's sums q.
#define DECLARE_Q(i, j) ACC_T CAT3(q, i, j);
#define ZERO_Q(i, j) CAT3(q, i, j) = ACC_T(0.0);
// Component by component (the same type has the same layout): this glslang crashes on + between
// cooperative matrices.
#define ADD_Q(i, j) \
  for (int e = 0; e < CAT3(c, i, j).length(); ++e) CAT3(c, i, j)[e] += CAT3(q, i, j)[e];
#define LOAD_B2(i, j)                                                \
  B_T b##j, f##j;                                                    \
  coopMatLoadNV(b##j, Bh, B_OFF(uint(j), kk), TILE_PITCH, true);    \
  coopMatLoadNV(f##j, Bl, B_OFF(uint(j), kk), TILE_PITCH, true);
#define MMA3(i, j)                                                  \
  CAT3(q, i, j) = coopMatMulAddNV(e##i, b##j, CAT3(q, i, j));       \
  CAT3(q, i, j) = coopMatMulAddNV(a##i, f##j, CAT3(q, i, j));       \
  CAT3(q, i, j) = coopMatMulAddNV(a##i, b##j, CAT3(q, i, j));
#define LOAD_A2(i)                                                   \
  coopMatLoadNV(a##i, Ah, A_OFF(uint(i), kk), TILE_PITCH, false);   \
  coopMatLoadNV(e##i, Al, A_OFF(uint(i), kk), TILE_PITCH, false);
#define MMA3_STEP(kk)                   \
  {                                     \
    A_T a0, a1, a2, a3, e0, e1, e2, e3; \
    LOAD_A2(0) LOAD_A2(1) LOAD_A2(2) LOAD_A2(3) \
    EACH_J(LOAD_B2, 0)                  \
    EACH_TILE(MMA3)                     \
  }

void main() {
  uint t = gl_LocalInvocationID.x;
  uint m0 = p.row0 + gl_WorkGroupID.y * BM;
  uint n0 = gl_WorkGroupID.x * BN;
  uint sg = gl_SubgroupID, lane = gl_SubgroupInvocationID;
  uint sm = (sg / SG_COLS) * SGM, sn = (sg % SG_COLS) * SGN;

  DECLARE_ACCUMULATORS
  EACH_TILE(DECLARE_Q)

  // Loader slot s = t + NT i: tile row s / CPR, 8-half chunk s % CPR; lo rows follow the hi rows.
  uvec4 rah[SLOTS], ral[SLOTS], rbh[SLOTS], rbl[SLOTS];
#define FETCH(k0)                                                                  \
  [[unroll]] for (uint i = 0u; i < SLOTS; ++i) {                                   \
    uint s = t + NT * i, row = s / CPR, k = (k0) + 8u * (s % CPR);               \
    uint xr = m0 + row, wr = n0 + row;                                             \
    rah[i] = uvec4(0u);                                                            \
    ral[i] = uvec4(0u);                                                            \
    rbh[i] = uvec4(0u);                                                            \
    rbl[i] = uvec4(0u);                                                            \
    if (k < p.k_dim && xr < p.n_rows) {                                            \
      rah[i] = x8[(p.x_off + xr * p.x_stride + k) >> 3u];                          \
      ral[i] = x8[(p.x_off + (p.n_rows + xr) * p.x_stride + k) >> 3u];             \
    }                                                                              \
    if (k < p.k_dim && wr < p.n_out) {                                             \
      rbh[i] = w8[(p.w_off + wr * p.w_stride + k) >> 3u];                          \
      rbl[i] = w8[(p.w_off + (p.n_out + wr) * p.w_stride + k) >> 3u];              \
    }                                                                              \
  }
  FETCH(0u)
  for (uint k0 = 0u; k0 < p.k_dim; k0 += BK) {
    [[unroll]] for (uint i = 0u; i < SLOTS; ++i) {
      uint s = t + NT * i, at = (s / CPR) * PV + (s % CPR);
      Ah[at] = rah[i];
      Al[at] = ral[i];
      Bh[at] = rbh[i];
      Bl[at] = rbl[i];
    }
    barrier();
    if (k0 + BK < p.k_dim) { FETCH(k0 + BK) }
    EACH_TILE(ZERO_Q)
    [[unroll]] for (uint kk = 0u; kk < BK; kk += CM_K) MMA3_STEP(kk)
    EACH_TILE(ADD_Q)
    barrier();
  }

  uint cbase = sg * CM_M * CM_N;
  STORE_ACCUMULATORS
}
