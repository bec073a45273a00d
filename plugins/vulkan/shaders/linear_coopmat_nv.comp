#version 450
// LINEAR on tensor cores through GL_NV_cooperative_matrix (fp16 inputs, f32 or f16 accumulation),
// fused bias + activation:  dst[r, o] = act(sum_k x[r,k] * W[o,k] + b[o]).
// x (f32) and W (W_F32/W_F16/W_BF16) are converted to fp16 into shared memory tiles (zero-padded
// at the edges, so any n, M, K work), each of the 4 subgroups (subgroup size 32 required) owns a
// 32x32 quadrant of the 64x64 output tile as (32/CM_M) x (32/CM_N) accumulator matrices.
// The epilogue goes through shared memory so bias, activation and bounds are applied per element.
// Macros: CM_M, CM_N, CM_K = a matrix shape the device reports; ACC_F16 for fp16 accumulators.
// Grid: x = ceil(M/64), y = ceil(n/64).
#extension GL_GOOGLE_include_directive : require
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#include "common.glsl"
#define BM 64u
#define BN 64u
#define BK 32u
#define BKP 40u  // shared row pitch in halfs: 80 bytes, keeps every matrix load 16-byte aligned
#define TM (32u / CM_M)
#define TN (32u / CM_N)
#ifdef ACC_F16
#define ACC_BITS 16
#else
#define ACC_BITS 32
#endif
layout(local_size_x = 128) in;
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
shared float Cs[BM * BN];       // accumulators staged for the epilogue

void main() {
  uint t = gl_LocalInvocationID.x;
  uint m0 = p.row0 + gl_WorkGroupID.y * BM;
  uint n0 = gl_WorkGroupID.x * BN;
  uint sg = gl_SubgroupID;
  uint sm = (sg / 2u) * 32u, sn = (sg % 2u) * 32u;
  uint lr = t / 2u, lk = (t % 2u) * 16u;  // loader: one row, 16 consecutive k

  fcoopmatNV<ACC_BITS, gl_ScopeSubgroup, CM_M, CM_N> acc[TM][TN];
  for (uint i = 0u; i < TM; ++i)
    for (uint j = 0u; j < TN; ++j) acc[i][j] = fcoopmatNV<ACC_BITS, gl_ScopeSubgroup, CM_M, CM_N>(0.0);

  for (uint k0 = 0u; k0 < p.k_dim; k0 += BK) {
    uint xr = m0 + lr, wr = n0 + lr;
    for (uint e = 0u; e < 16u; ++e) {
      uint k = k0 + lk + e;
      float xv = (xr < p.n_rows && k < p.k_dim) ? x[p.x_off + xr * p.x_stride + k] : 0.0;
      float wv = (wr < p.n_out && k < p.k_dim) ? w_to_f32(w[p.w_off + wr * p.w_stride + k]) : 0.0;
      As[lr * BKP + lk + e] = float16_t(xv);
      Bs[lr * BKP + lk + e] = float16_t(wv);
    }
    barrier();
    for (uint kk = 0u; kk < BK; kk += CM_K) {
      fcoopmatNV<16, gl_ScopeSubgroup, CM_M, CM_K> a[TM];
      for (uint i = 0u; i < TM; ++i) coopMatLoadNV(a[i], As, (sm + i * CM_M) * BKP + kk, BKP, false);
      for (uint j = 0u; j < TN; ++j) {
        fcoopmatNV<16, gl_ScopeSubgroup, CM_K, CM_N> b;
        coopMatLoadNV(b, Bs, (sn + j * CM_N) * BKP + kk, BKP, true);
        for (uint i = 0u; i < TM; ++i) acc[i][j] = coopMatMulAddNV(a[i], b, acc[i][j]);
      }
    }
    barrier();
  }

  for (uint i = 0u; i < TM; ++i)
    for (uint j = 0u; j < TN; ++j) {
      fcoopmatNV<32, gl_ScopeSubgroup, CM_M, CM_N> c32 = fcoopmatNV<32, gl_ScopeSubgroup, CM_M, CM_N>(acc[i][j]);
      coopMatStoreNV(c32, Cs, (sm + i * CM_M) * BN + sn + j * CM_N, BN, false);
    }
  barrier();
  for (uint e = t; e < BM * BN; e += 128u) {
    uint r = m0 + e / BN, o = n0 + e % BN;
    if (r < p.n_rows && o < p.n_out) {
      float bo = p.has_bias != 0u ? bias[p.b_off + o] : 0.0;
      dst[p.d_off + r * p.d_stride + o] = apply_act(Cs[e] + bo, p.act);
    }
  }
}
