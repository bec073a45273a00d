#version 450
// LINEAR on tensor cores through GL_NV_cooperative_matrix (fp16 inputs, f32 or f16 accumulation),
// fused bias + activation:  dst[r, o] = act(sum_k x[r,k] * W[o,k] + b[o]).
// Workgroup = 8 subgroups of 32 (subgroup size 32 required) computing a 128 x 128 output tile;
// subgroup (sm, sn) of a 2 x 4 grid owns 64 rows x 32 outputs as (64/CM_M) x (32/CM_N)
// accumulator matrices. K advances by 32: x (f32) and W (f32, or fp16 copied bit-exact; bf16
// converted) tiles go to shared memory as fp16 (zero-padded at the edges, so any n, M, K work).
// Global reads are coalesced (32 consecutive k of one row per subgroup instruction) and the next
// tile is fetched into registers while the tensor cores work on the current one.
// The epilogue stages one accumulator matrix at a time through a per-subgroup 16x16 scratch so
// bias, activation and bounds are applied per element.
// Macros: CM_M (16), CM_N, CM_K = a matrix shape the device reports; TN = 32 / CM_N as a plain
// integer; ACC_F16 for fp16 accumulators. The register tile is coopmat_tile.glsl.
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
#define BKP 40u  // shared row pitch in halfs: 80 bytes, keeps every matrix load 16-byte aligned
#define SGM 64u  // rows per subgroup
#define SGN 32u  // outputs per subgroup
#define LOADS (BM * BK / 256u)  // tile elements each invocation moves per K step (16)
#ifdef ACC_F16
#define ACC_BITS 16
#else
#define ACC_BITS 32
#endif
#define A_OFF(i, kk) ((sm + (i) * CM_M) * BKP + (kk))  // As/Bs in halfs
#define B_OFF(j, kk) ((sn + (j) * CM_N) * BKP + (kk))
#define TILE_PITCH BKP
#include "coopmat_tile.glsl"
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) readonly buffer W { W_STORAGE w[]; };
layout(std430, set = 0, binding = 2) readonly buffer Bias { float bias[]; };
layout(std430, set = 0, binding = 3) writeonly buffer Dst { float dst[]; };
layout(push_constant) uniform Push {
  uint row0, n_rows, n_out, k_dim;
  uint x_off, x_stride, w_off, w_stride, b_off, has_bias, act, d_off, d_stride;
} p;

shared float16_t As[BM * BKP];  // x tile, row-major [BM][BK]
shared float16_t Bs[BN * BKP];  // W tile, row-major [BN][BK] = column-major B = W^T
shared float Cs[8u * CM_M * CM_N];  // per-subgroup epilogue scratch

float16_t w_to_f16(W_STORAGE v) {
#if defined(W_F16)
  return uint16BitsToHalf(v);
#else
  return float16_t(w_to_f32(v));
#endif
}

void main() {
  uint t = gl_LocalInvocationID.x;
  uint m0 = p.row0 + gl_WorkGroupID.y * BM;
  uint n0 = gl_WorkGroupID.x * BN;
  uint sg = gl_SubgroupID, lane = gl_SubgroupInvocationID;
  uint sm = (sg / 4u) * SGM, sn = (sg % 4u) * SGN;
  // Loader: element e = t + 256 i of the 128 x 32 tile is row e / 32, column e % 32, so each
  // subgroup instruction reads 32 consecutive k of one row.
  uint lk = t % BK, lr = t / BK;  // lr in [0, 8); rows lr + 8 i

  DECLARE_ACCUMULATORS

  float16_t ra[LOADS], rb[LOADS];
  // Fetch the tile at k0 into registers.
#define FETCH(k0)                                                                                \
  {                                                                                              \
    uint k = (k0) + lk;                                                                          \
    bool kin = k < p.k_dim;                                                                      \
    [[unroll]] for (uint i = 0u; i < LOADS; ++i) {                                               \
      uint xr = m0 + lr + 8u * i, wr = n0 + lr + 8u * i;                                         \
      ra[i] = float16_t((kin && xr < p.n_rows) ? x[p.x_off + xr * p.x_stride + k] : 0.0);        \
      rb[i] = (kin && wr < p.n_out) ? w_to_f16(w[p.w_off + wr * p.w_stride + k]) : float16_t(0.0); \
    }                                                                                            \
  }
  FETCH(0u)
  for (uint k0 = 0u; k0 < p.k_dim; k0 += BK) {
    [[unroll]] for (uint i = 0u; i < LOADS; ++i) {
      As[(lr + 8u * i) * BKP + lk] = ra[i];
      Bs[(lr + 8u * i) * BKP + lk] = rb[i];
    }
    barrier();
    if (k0 + BK < p.k_dim) FETCH(k0 + BK)
    [[unroll]] for (uint kk = 0u; kk < BK; kk += CM_K) MMA_STEP(kk)
    barrier();
  }

  uint cbase = sg * CM_M * CM_N;
  STORE_ACCUMULATORS
}
