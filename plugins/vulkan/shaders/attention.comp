#version 450
// ATTENTION: packed variable-length multi-head self-attention, fused (flash-attention style).
// One workgroup handles BQ query rows of one head: it streams the keys of those queries'
// sequences through shared memory in blocks of BK, keeps a running max / running sum per query
// (online softmax) and rescales its output accumulators, so the n x n score matrix never exists.
//   logit(i,j) = (q_i . k_j) * scale + key_bias[j];  j masked (key_mask[j] != 0) or in another
//   sequence -> excluded; a query with no admissible key gets zeros.
// Loops over keys are kept rolled ([[dont_unroll]]): fully unrolled they made lavapipe's shader
// compile take minutes, and GPUs gain little from it here.
// Macros (set by the variant generator): BQ queries per workgroup, BK keys per block, HDMAX the
// largest head dim, WG invocations. Grid: x = heads, y = ceil(Q / BQ).
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
layout(local_size_x = WG) in;
layout(std430, set = 0, binding = 0) readonly buffer QKV { float qkv[]; };
#include "attention_io.glsl"

// Excluded logits carry a large negative sentinel instead of -inf: no inf arithmetic, so the
// result does not depend on how a driver treats infinities.
const float NEG = -1.0e38;
const float NEG_HALF = -0.5e38;
const uint OPT = (BQ * HDMAX + WG - 1u) / WG;  // output accumulators per invocation

shared float Qs[BQ * HDMAX];
shared float Ks[BK * (HDMAX + 1u)];  // +1 pad: invocations reading one key each avoid conflicts
shared float Vs[BK * HDMAX];
shared float Ss[BQ * BK];
shared float key_add[BK];  // key_bias, or NEG when the key is masked / past the block range
shared uint q_row[BQ], q_lo[BQ], q_hi[BQ];
shared float row_m[BQ], row_l[BQ], row_alpha[BQ];
shared uint wg_lo, wg_hi;


void main() {
  uint t = gl_LocalInvocationID.x;
  uint h = gl_WorkGroupID.x;
  uint qbase = p.q0 + gl_WorkGroupID.y * BQ;
  uint hd = p.hd;
  uint q_col = h * hd, k_col = p.d + h * hd, v_col = 2u * p.d + h * hd;

  // Which row is each query, and which key range [lo, hi) is its sequence.
  if (t < BQ) {
    uint qi = qbase + t;
    uint row = 0xffffffffu, lo = 0u, hi = 0u;
    if (qi < p.n_q) {
      row = (p.flags & 4u) != 0u ? uint(query_rows[p.qr_off + qi]) : qi;
      const uvec2 range = key_range_of(row);
      lo = range.x;
      hi = range.y;
    }
    q_row[t] = row; q_lo[t] = lo; q_hi[t] = hi;
    row_m[t] = NEG; row_l[t] = 0.0;
  }
  barrier();
  if (t == 0u) {
    uint lo = 0xffffffffu, hi = 0u;
    [[dont_unroll]] for (uint i = 0u; i < BQ; ++i)
      if (q_hi[i] > q_lo[i]) { lo = min(lo, q_lo[i]); hi = max(hi, q_hi[i]); }
    wg_lo = lo == 0xffffffffu ? 0u : lo;
    wg_hi = hi;
  }
  for (uint i = t; i < BQ * HDMAX; i += WG) {
    uint qq = i / HDMAX, c = i % HDMAX;
    uint row = q_row[qq];
    Qs[i] = (row != 0xffffffffu && c < hd) ? qkv[p.qkv_off + row * p.qkv_stride + q_col + c] * p.scale : 0.0;
  }
  float o[OPT];
  for (uint k = 0u; k < OPT; ++k) o[k] = 0.0;
  barrier();
  uint lo = wg_lo, hi = wg_hi;

  for (uint kb = lo; kb < hi; kb += BK) {
    for (uint i = t; i < BK * hd; i += WG) {
      uint j = i / hd, c = i % hd, key = kb + j;
      bool in_range = key < hi;
      uint base = p.qkv_off + key * p.qkv_stride;
      Ks[j * (HDMAX + 1u) + c] = in_range ? qkv[base + k_col + c] : 0.0;
      Vs[j * HDMAX + c] = in_range ? qkv[base + v_col + c] : 0.0;
    }
    if (t < BK) {
      uint key = kb + t;
      float add = NEG;
      if (key < hi && ((p.flags & 2u) == 0u || !key_masked(key)))
        add = (p.flags & 1u) != 0u ? key_bias[p.bias_off + key] : 0.0;
      key_add[t] = add;
    }
    barrier();
    for (uint i = t; i < BQ * BK; i += WG) {
      uint qq = i / BK, j = i % BK, key = kb + j;
      float s = NEG;
      if (key_add[j] > NEG_HALF && key >= q_lo[qq] && key < q_hi[qq]) {
        float dot = 0.0;
        [[dont_unroll]] for (uint c = 0u; c < hd; ++c) dot = fma(Qs[qq * HDMAX + c], Ks[j * (HDMAX + 1u) + c], dot);
        s = dot + key_add[j];
      }
      Ss[i] = s;
    }
    barrier();
    if (t < BQ) {
      float m_old = row_m[t], mx = m_old;
      [[dont_unroll]] for (uint j = 0u; j < BK; ++j) mx = max(mx, Ss[t * BK + j]);
      float alpha = 1.0, sum = 0.0;
      if (mx > NEG_HALF) {
        alpha = m_old > NEG_HALF ? exp(m_old - mx) : 0.0;
        [[dont_unroll]] for (uint j = 0u; j < BK; ++j) {
          float s = Ss[t * BK + j];
          float e = s > NEG_HALF ? exp(s - mx) : 0.0;
          Ss[t * BK + j] = e;
          sum += e;
        }
      } else {
        [[dont_unroll]] for (uint j = 0u; j < BK; ++j) Ss[t * BK + j] = 0.0;
      }
      row_l[t] = row_l[t] * alpha + sum;
      row_m[t] = mx;
      row_alpha[t] = alpha;
    }
    barrier();
    // Accumulators first rescaled by the running-max change, then one pass over the block's keys.
    // Invocation t always owns column t % HDMAX (WG is a multiple of HDMAX or HDMAX of WG).
    for (uint k = 0u; k < OPT; ++k) {
      uint qq = (t + k * WG) / HDMAX;
      if (qq < BQ) o[k] *= row_alpha[qq];
    }
    uint c_own = t % HDMAX;
    if (c_own < hd) {
      [[dont_unroll]] for (uint j = 0u; j < BK; ++j) {
        float v = Vs[j * HDMAX + c_own];
        for (uint k = 0u; k < OPT; ++k) {
          uint qq = (t + k * WG) / HDMAX;
          if (qq < BQ) o[k] = fma(Ss[qq * BK + j], v, o[k]);
        }
      }
    }
    barrier();
  }

  for (uint k = 0u; k < OPT; ++k) {
    uint e = t + k * WG, qq = e / HDMAX, c = e % HDMAX;
    uint qi = qbase + qq;
    if (qq < BQ && c < hd && qi < p.n_q) {
      float l = row_l[qq];
      dst[p.d_off + qi * p.d_stride + q_col + c] = l > 0.0 ? o[k] / l : 0.0;
    }
  }
}
