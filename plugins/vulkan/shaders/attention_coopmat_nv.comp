#version 450
// ATTENTION on tensor cores (GL_NV_cooperative_matrix, 16x16x16 or 16x8x16, fp16 inputs, f32
// accumulation):
// packed variable-length multi-head self-attention, flash style, same semantics as attention.comp
//   logit(i,j) = (q_i . k_j) * scale + key_bias[j];  j masked (key_mask[j] != 0) or in another
//   sequence -> excluded; a query with no admissible key gets zeros.
// A workgroup = 4 subgroups of 32 (subgroup size 32 required) = 64 queries of one head; each
// subgroup owns 16 queries. Blocks of BKEY keys: K and V converted to fp16 into shared memory
// once for all subgroups (copied as they are when the plugin passes an fp16 qkv: flag 16);
// S = Q K^T on tensor cores (Q fragments stay in registers), online
// softmax in f32 (lane pair 2r, 2r+1 owns query row r, each half of the columns), P (fp16) V on
// tensor cores, output accumulators O in f32 registers rescaled per row (NV cooperative matrices
// cannot scale rows, so P V lands in shared memory and each lane adds its half row).
// Head dim <= HD (64); padded columns are zero. Grid: x = heads, y = ceil(Q / 64).
// CM_N: the N of the matrix shape, 16 (default) or 8. With 8, Q/P (A, 16x16), K^T/V (B, 16x8) and
// S/PV (f32 16x8) are three distinct types, which the KHR rewrite (cmake/coopmat_nv_to_khr.py) needs.
#extension GL_GOOGLE_include_directive : require
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_control_flow_attributes : require
#define HD 64u  // QK()/PV() below are written out for HD / 16 = 4 chunks
#ifndef CM_N
#define CM_N 16u
#define N_TILES 4  // BKEY / CM_N (= HD / CM_N) as a plain integer for the preprocessor
#endif
#if N_TILES == 8
#define EACH_N(X, kk) X(0, kk) X(1, kk) X(2, kk) X(3, kk) X(4, kk) X(5, kk) X(6, kk) X(7, kk)
#elif N_TILES == 4
#define EACH_N(X, kk) X(0, kk) X(1, kk) X(2, kk) X(3, kk)
#else
#error N_TILES must be 4 (CM_N 16) or 8 (CM_N 8)
#endif
#define ACC_T fcoopmatNV<32, gl_ScopeSubgroup, 16u, CM_N>
#define B_T fcoopmatNV<16, gl_ScopeSubgroup, 16u, CM_N>
#define BKEY 64u  // = HD: N_TILES column tiles of CM_N for S and for P V
#define NSG 4u
#define BQ (16u * NSG)
#define KP (HD + 8u)      // K/V pitch in halfs (144 bytes: 16-byte aligned rows)
#define KPV (KP / 8u)     // the same in uvec4 (K/V live in shared memory as uvec4 of 8 halfs)
#define PP (BKEY + 8u)    // P / Q-staging pitch in halfs
#define SP (BKEY + 4u)    // S / PV staging pitch in floats (BKEY == HD here)
#define HALF_K (BKEY / 2u)
#define HALF_D (HD / 2u)
layout(local_size_x = 128) in;
layout(std430, set = 0, binding = 0) readonly buffer QKV { float qkv[]; };
layout(std430, set = 0, binding = 0) readonly buffer QKV8 { uvec4 qkv8[]; };  // fp16 qkv (flag 16), 8 halfs
#include "attention_io.glsl"

const float NEG = -1.0e38;
const float NEG_HALF = -0.5e38;

shared uvec4 Ks[BKEY * KPV];  // [key][8-half chunk]
shared uvec4 Vs[BKEY * KPV];
shared float16_t Ps[NSG * 16u * PP];  // per subgroup: Q staging at start, then P of each block
shared float Ss[NSG * 16u * SP];      // per subgroup: S, then P V of each block
shared float key_add[BKEY];           // key_bias, or NEG when masked / past the range
shared uint sh_lo[BQ], sh_hi[BQ];
shared uint wg_lo, wg_hi;
#include "attention_cm_blocks.glsl"


void main() {
  uint t = gl_LocalInvocationID.x;
  uint sg = gl_SubgroupID, lane = gl_SubgroupInvocationID;
  uint h = gl_WorkGroupID.x;
  uint qbase = p.q0 + gl_WorkGroupID.y * BQ;
  uint hd = p.hd;
  uint q_col = h * hd, k_col = p.d + h * hd, v_col = 2u * p.d + h * hd;

  resolve_key_ranges(t, qbase);

  // This lane's query row r (within the subgroup) and column half.
  uint r = lane >> 1u, half_sel = lane & 1u;
  uint qq = sg * 16u + r;  // query within the workgroup
  uint qi = qbase + qq;
  uint my_lo = sh_lo[qq], my_hi = sh_hi[qq];
  uint my_row = qi;
  if (qi < p.n_q && (p.flags & 4u) != 0u) my_row = uint(query_rows[p.qr_off + qi]);

  // Q (scaled) -> fp16 staging -> fragments kept in registers.
  uint pbase = sg * 16u * PP, sbase = sg * 16u * SP;
  if ((p.flags & 16u) != 0u) {
    for (uint c = half_sel * HALF_D; c < half_sel * HALF_D + HALF_D; c += 8u) {
      uvec4 w = (qi < p.n_q && c < hd) ? qkv8[(p.qkv_off + my_row * p.qkv_stride + q_col + c) >> 3u] : uvec4(0u);
      [[unroll]] for (uint e = 0u; e < 4u; ++e) {
        vec2 v = unpackHalf2x16(w[e]) * p.scale;
        Ps[pbase + r * PP + c + 2u * e] = float16_t(v.x);
        Ps[pbase + r * PP + c + 2u * e + 1u] = float16_t(v.y);
      }
    }
  } else {
    for (uint c = half_sel * HALF_D; c < half_sel * HALF_D + HALF_D; ++c) {
      float v = (qi < p.n_q && c < hd) ? qkv[p.qkv_off + my_row * p.qkv_stride + q_col + c] * p.scale : 0.0;
      Ps[pbase + r * PP + c] = float16_t(v);
    }
  }
  subgroupMemoryBarrierShared();
  subgroupBarrier();
  // Four named fragments (HD / 16), not an array: the H100's driver keeps arrays of cooperative
  // matrices in local memory.
  fcoopmatNV<16, gl_ScopeSubgroup, 16u, 16u> qa0, qa1, qa2, qa3;
  coopMatLoadNV(qa0, Ps, pbase + 0u, PP, false);
  coopMatLoadNV(qa1, Ps, pbase + 16u, PP, false);
  coopMatLoadNV(qa2, Ps, pbase + 32u, PP, false);
  coopMatLoadNV(qa3, Ps, pbase + 48u, PP, false);

  float o[HALF_D];
  [[unroll]] for (uint c = 0u; c < HALF_D; ++c) o[c] = 0.0;
  float m_run = NEG, l_run = 0.0;
  barrier();  // wg_lo/wg_hi visible; every subgroup done with its Q staging reads before P writes
  uint lo = wg_lo, hi = wg_hi;

  for (uint kb = lo; kb < hi; kb += BKEY) {
    stage_key_block(t, kb, hi, k_col, v_col, 1.0);
    barrier();

    // S = Q K^T (16 x BKEY) for this subgroup: one named accumulator per N_TILES column tile, the
    // head-dim chunk kk outermost, so the tiles' multiply-adds are independent of each other (one
    // accumulator chained over kk per tile, as before, took 5.56 instead of 4.57 ms per 4-layer
    // attention call on the H100: bench/RESULTS.md).
    // B = K^T: column-major K rows.
#define DECL_ACC(n, unused) ACC_T s##n = ACC_T(0.0);
#define QK(n, kk)                                                             \
  {                                                                           \
    B_T kbm;                                                                  \
    coopMatLoadNV(kbm, Ks, uint(n) * CM_N * KPV + uint(kk) * 2u, KPV, true);  \
    s##n = coopMatMulAddNV(qa##kk, kbm, s##n);                                \
  }
#define STORE_S(n, unused) coopMatStoreNV(s##n, Ss, sbase + uint(n) * CM_N, SP, false);
    {
      EACH_N(DECL_ACC, 0)
      EACH_N(QK, 0) EACH_N(QK, 1) EACH_N(QK, 2) EACH_N(QK, 3)
      EACH_N(STORE_S, 0)
    }
    subgroupMemoryBarrierShared();
    subgroupBarrier();

    // Online softmax for row r over this lane's half of the block's keys.
    float sv[HALF_K];
    float mx = NEG;
    [[unroll]] for (uint jj = 0u; jj < HALF_K; ++jj) {
      uint j = half_sel * HALF_K + jj, key = kb + j;
      float a = key_add[j];
      float s = NEG;
      if (a > NEG_HALF && key >= my_lo && key < my_hi) s = Ss[sbase + r * SP + j] + a;
      sv[jj] = s;
      mx = max(mx, s);
    }
    mx = max(mx, subgroupShuffleXor(mx, 1u));
    float m_new = max(m_run, mx);
    float alpha = 1.0, sum = 0.0;
    if (m_new > NEG_HALF) {
      alpha = m_run > NEG_HALF ? exp(m_run - m_new) : 0.0;
      [[unroll]] for (uint jj = 0u; jj < HALF_K; ++jj) {
        float e = sv[jj] > NEG_HALF ? exp(sv[jj] - m_new) : 0.0;
        sum += e;
        Ps[pbase + r * PP + half_sel * HALF_K + jj] = float16_t(e);
      }
      m_run = m_new;
    } else {
      [[unroll]] for (uint jj = 0u; jj < HALF_K; ++jj) Ps[pbase + r * PP + half_sel * HALF_K + jj] = float16_t(0.0);
    }
    sum += subgroupShuffleXor(sum, 1u);
    l_run = l_run * alpha + sum;
    subgroupMemoryBarrierShared();
    subgroupBarrier();

    // P V (16 x HD) -> shared, then each lane folds its half row into O.
    // The four P fragments (BKEY / 16 keys chunks) are loaded once for all output columns.
    fcoopmatNV<16, gl_ScopeSubgroup, 16u, 16u> pa0, pa1, pa2, pa3;
    coopMatLoadNV(pa0, Ps, pbase + 0u, PP, false);
    coopMatLoadNV(pa1, Ps, pbase + 16u, PP, false);
    coopMatLoadNV(pa2, Ps, pbase + 32u, PP, false);
    coopMatLoadNV(pa3, Ps, pbase + 48u, PP, false);
#define PV(n, kk)                                                             \
  {                                                                           \
    B_T vb;                                                                   \
    coopMatLoadNV(vb, Vs, uint(kk) * 16u * KPV + uint(n) * (CM_N / 8u), KPV, false);  \
    s##n = coopMatMulAddNV(pa##kk, vb, s##n);                                 \
  }
    {  // the same independent accumulators, now for P V (HD = BKEY columns)
      EACH_N(DECL_ACC, 0)
      EACH_N(PV, 0) EACH_N(PV, 1) EACH_N(PV, 2) EACH_N(PV, 3)
      EACH_N(STORE_S, 0)
    }
    subgroupMemoryBarrierShared();
    subgroupBarrier();
    [[unroll]] for (uint c = 0u; c < HALF_D; ++c)
      o[c] = o[c] * alpha + Ss[sbase + r * SP + half_sel * HALF_D + c];
    barrier();  // K/V/key_add (and this subgroup's S/P) are overwritten by the next block
  }

  if (qi < p.n_q) {
    float inv = l_run > 0.0 ? 1.0 / l_run : 0.0;
    [[unroll]] for (uint c = 0u; c < HALF_D; ++c) {
      uint col = half_sel * HALF_D + c;
      if (col < hd) dst[p.d_off + qi * p.d_stride + q_col + col] = o[c] * inv;
    }
  }
}
