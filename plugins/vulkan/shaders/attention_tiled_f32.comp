#version 450
// ATTENTION, f32 on CUDA cores (no cooperative matrices), head dim <= 64: same semantics as
// attention.comp / attention_rowq.comp:
//   logit(i,j) = (q_i . k_j) * scale + key_bias[j];  j masked (key_mask[j] != 0) or in another
//   sequence -> excluded; a query with no admissible key gets zeros.
// Design ported from plugins/opencl/kernels/attention_tiled2.cl (the fastest fp32 kernel there):
// a workgroup of 128 invocations = 64 consecutive queries of one head; the keys/values of the
// union of their sequences stream through shared memory in tiles of TK keys. Per tile:
//   S = Q K^T        each invocation 4 queries x TK/8 keys in registers (Q tile stays in shared)
//   tile max         8 partial maxima per query through shared memory (one barrier)
//   P = exp2(S - m)  in the same registers (log2(e) folded into the Q scale and the key bias);
//                    every invocation keeps the running max and a partial denominator of its
//                    4 queries in registers (the 8 invocations of a query agree on the max)
//   O += P V         each invocation 8 queries x 4 dims, O rescaled by the per-query correction
// 4 barriers per tile; P overwrites the K tile (K is dead once S is in registers); tiles are
// XOR-swizzled instead of padded, so vec4 reads are conflict-free; the next tile's K/V is fetched
// into registers during the P V product. Each query only admits keys of its own sequence
// (per-query [lo, hi) ranges), so several sequences may share a workgroup.
// TK = 32 (as in the OpenCL kernel) needs 36032 bytes of shared memory; TK = 24 (the default here)
// stays under lavapipe's 32 KiB: Q 16 KiB + K/P 6 KiB + V 6 KiB + 3.2 KiB of small arrays = 31904
// bytes (vk_ops.cpp attn_tiled_f32_bytes must match).
// Global reads are scalar (any qkv offset/stride/head dim works) and coalesced; the output leaves
// through shared memory so the global stores are coalesced too.
// Grid: x = heads, y = ceil(Q / 64); push word q0 = first query of the dispatch slice.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require

#define TQ 64u       // queries per workgroup
#ifndef TK
#define TK 24u       // keys per tile (multiple of 8)
#endif
#define NT 128u      // invocations
#define C4 16u       // vec4 per head row (64 / 4)
#define KJ (TK / 8u) // keys per invocation in the S phase
#define NPF (TK / 2u) // floats of K (and of V) each invocation fetches per tile: TK * 64 / NT

layout(local_size_x = 128) in;
layout(std430, set = 0, binding = 0) readonly buffer QKV { float qkv[]; };
#include "attention_io.glsl"

// Finite sentinels instead of -inf (no reliance on IEEE infinities under driver fast math).
const float NEG = -1.0e38;
const float NEG_HALF = -0.5e38;
const float L2E = 1.4426950408889634;

// Swizzles: Q row r, vec4 c at r*C4 + (c ^ (r & 3)); K row j, vec4 c at j*C4 + (c ^ (j & 7));
// P key j, queries 4g..4g+3 at j*C4 + (g ^ (j & 7)) (same array as K); V unswizzled.
// After the key loop qs stages the output rows (row q, vec4 c at q*C4 + c).
shared vec4 qs[TQ * C4];
shared vec4 kp[TK * C4];
shared vec4 vs[TK * C4];
shared vec4 red[TQ * 2u];   // per query: 8 partial maxima (at the end 8 partial denominators)
shared float kadd[TK];      // log2(e) * key_bias, or NEG for masked / out-of-range keys
shared vec4 corr4[TQ / 4u]; // per query: this tile's rescale factor of its O row, at the end 1 / l
shared uint qlo[TQ], qhi[TQ];
shared int qrow[TQ];
shared uint part_lo[8], part_hi[8];  // union of the ranges of 8 queries each


void main() {
  const uint t = gl_LocalInvocationID.x;
  const uint h = gl_WorkGroupID.x;
  const uint qbase = p.q0 + gl_WorkGroupID.y * TQ;
  const uint hd = p.hd;
  const uint q_col = h * hd, k_col = p.d + h * hd, v_col = 2u * p.d + h * hd;

  // ---- per-query sequence ranges and the workgroup's key range (their union) -----------------
  if (t < TQ) {
    const uint qi = qbase + t;
    uint lo = 0u, hi = 0u;
    int row = -1;
    if (qi < p.n_q) {
      row = (p.flags & 4u) != 0u ? query_rows[p.qr_off + qi] : int(qi);
      if (row < 0 || row >= seg[p.seg_off + p.n_seq]) row = -1;  // caller's bug: zeros
    }
    if (row >= 0) {
      const uvec2 range = key_range_of(uint(row));
      lo = range.x;
      hi = range.y;
    }
    qlo[t] = lo;
    qhi[t] = hi;
    qrow[t] = row;
  }
  // The union in two steps without shared atomics (their Device scope is invalid where the
  // device has vulkanMemoryModel but not vulkanMemoryModelDeviceScope): 8 invocations reduce 8
  // queries each, then every invocation reduces the 8 partials.
  barrier();
  if (t < 8u) {
    uint a = 0xffffffffu, b = 0u;
    [[unroll]] for (uint k = 0u; k < 8u; ++k) {
      const uint lo = qlo[8u * t + k], hi = qhi[8u * t + k];
      if (hi > lo) {
        a = min(a, lo);
        b = max(b, hi);
      }
    }
    part_lo[t] = a;
    part_hi[t] = b;
  }
  barrier();
  uint gbeg = 0xffffffffu, gend = 0u;  // gbeg >= gend: no key at all (all zeros)
  [[unroll]] for (uint k = 0u; k < 8u; ++k) {
    gbeg = min(gbeg, part_lo[k]);
    gend = max(gend, part_hi[k]);
  }

  // ---- Q tile, scaled by scale * log2(e) so exp2 of the logit difference is the softmax term --
  const float qscale = p.scale * L2E;
  for (uint e = t; e < TQ * 64u; e += NT) {
    const uint qq = e / 64u, col = e % 64u;
    const int row = qrow[qq];
    float v = 0.0;
    if (row >= 0 && col < hd) v = qkv[p.qkv_off + uint(row) * p.qkv_stride + q_col + col] * qscale;
    qs[qq * C4 + ((col >> 2u) ^ (qq & 3u))][col & 3u] = v;
  }

  // S-phase layout: queries sy + 16 i (i < 4), keys sx + 8 j (j < KJ).
  const uint sx = t % 8u, sy = t / 8u;
  // PV-phase layout: queries 8 oy .. 8 oy + 7, dims 4 ox .. 4 ox + 3.
  const uint ox = t % C4, oy = t / C4;
  vec4 acc[8];
  [[unroll]] for (uint i = 0u; i < 8u; ++i) acc[i] = vec4(0.0);
  float m_run[4], lpart[4];  // running max (log2 units) and partial denominator of my 4 queries
  [[unroll]] for (uint i = 0u; i < 4u; ++i) {
    m_run[i] = NEG;
    lpart[i] = 0.0;
  }
  const bool has_bias = (p.flags & 1u) != 0u, has_mask = (p.flags & 2u) != 0u;

  // Next tile's K/V (float e = t + r*NT: key e / 64, column e % 64, coalesced) and key term.
  float pk[NPF], pv[NPF];
  float pa_next = NEG;
#define FETCH_TILE(T0)                                                         \
  {                                                                            \
    [[unroll]] for (uint r = 0u; r < NPF; ++r) {                               \
      const uint e = t + r * NT, key = (T0) + e / 64u, col = e % 64u;          \
      pk[r] = 0.0;                                                             \
      pv[r] = 0.0;                                                             \
      if (key < gend && col < hd) {                                            \
        const uint base = p.qkv_off + key * p.qkv_stride;                      \
        pk[r] = qkv[base + k_col + col];                                       \
        pv[r] = qkv[base + v_col + col];                                       \
      }                                                                        \
    }                                                                          \
    if (t < TK) {                                                              \
      const uint key = (T0) + t;                                               \
      pa_next = NEG;                                                           \
      if (key < gend && !(has_mask && key_masked(key)))                        \
        pa_next = has_bias ? key_bias[p.bias_off + key] * L2E : 0.0;           \
    }                                                                          \
  }
  if (gbeg < gend) FETCH_TILE(gbeg)

  for (uint t0 = gbeg; t0 < gend; t0 += TK) {
    barrier();  // (A) previous tile's P and V consumed (first tile: Q tile written)
    [[unroll]] for (uint r = 0u; r < NPF; ++r) {
      const uint e = t + r * NT, j = e / 64u, col = e % 64u;
      kp[j * C4 + ((col >> 2u) ^ (j & 7u))][col & 3u] = pk[r];
      vs[j * C4 + (col >> 2u)][col & 3u] = pv[r];
    }
    if (t < TK) kadd[t] = pa_next;
    barrier();  // (B) tile visible

    // S = Q K^T for 4 queries x KJ keys.
    float s[4][KJ];
    [[unroll]] for (uint i = 0u; i < 4u; ++i)
      [[unroll]] for (uint j = 0u; j < KJ; ++j) s[i][j] = 0.0;
    [[unroll]] for (uint c = 0u; c < C4; ++c) {
      vec4 qv[4], kv[KJ];
      [[unroll]] for (uint i = 0u; i < 4u; ++i) qv[i] = qs[(sy + 16u * i) * C4 + (c ^ (sy & 3u))];
      [[unroll]] for (uint j = 0u; j < KJ; ++j) kv[j] = kp[(sx + 8u * j) * C4 + (c ^ sx)];
      [[unroll]] for (uint i = 0u; i < 4u; ++i)
        [[unroll]] for (uint j = 0u; j < KJ; ++j)
          s[i][j] = fma(qv[i].w, kv[j].w, fma(qv[i].z, kv[j].z, fma(qv[i].y, kv[j].y, fma(qv[i].x, kv[j].x, s[i][j]))));
    }
    // Key selection (own sequence, not masked), then my partial max of each query.
    [[unroll]] for (uint i = 0u; i < 4u; ++i) {
      const uint qq = sy + 16u * i;
      const uint lo = qlo[qq], hi = qhi[qq];
      float pm = NEG;
      [[unroll]] for (uint j = 0u; j < KJ; ++j) {
        const uint jj = sx + 8u * j, key = t0 + jj;
        const float a = kadd[jj];
        s[i][j] = (key >= lo && key < hi && a > NEG_HALF) ? s[i][j] + a : NEG;
        pm = max(pm, s[i][j]);
      }
      red[qq * 2u + (sx >> 2u)][sx & 3u] = pm;
    }
    barrier();  // (C) partial maxima visible; every K read is done

    // Online softmax in registers: the 8 invocations of a query compute the same new max.
    [[unroll]] for (uint i = 0u; i < 4u; ++i) {
      const uint qq = sy + 16u * i;
      const vec4 r0 = red[qq * 2u], r1 = red[qq * 2u + 1u];
      const vec4 rm = max(r0, r1);
      const float tmax = max(max(rm.x, rm.y), max(rm.z, rm.w));
      const float m_old = m_run[i];
      const float mnew = max(m_old, tmax);
      // No live key so far: nothing to rescale. First live tile: O and l are still 0.
      const float corr = mnew <= NEG_HALF ? 1.0 : (m_old <= NEG_HALF ? 0.0 : exp2(m_old - mnew));
      float sum = 0.0;
      [[unroll]] for (uint j = 0u; j < KJ; ++j) {
        const float pj = s[i][j] <= NEG_HALF ? 0.0 : exp2(s[i][j] - mnew);
        sum += pj;
        const uint jj = sx + 8u * j;  // (jj & 7) == sx
        kp[jj * C4 + ((qq >> 2u) ^ sx)][qq & 3u] = pj;
      }
      lpart[i] = lpart[i] * corr + sum;
      m_run[i] = mnew;
      if (sx == 0u) corr4[qq >> 2u][qq & 3u] = corr;
    }
    barrier();  // (D) P and the corrections visible

    if (t0 + TK < gend) FETCH_TILE(t0 + TK)  // lands during the P V product

    // O = O * corr + P V for 8 queries x 4 dims.
    {
      const vec4 ca = corr4[2u * oy], cb = corr4[2u * oy + 1u];
      acc[0] *= ca.x; acc[1] *= ca.y; acc[2] *= ca.z; acc[3] *= ca.w;
      acc[4] *= cb.x; acc[5] *= cb.y; acc[6] *= cb.z; acc[7] *= cb.w;
    }
    [[unroll]] for (uint j = 0u; j < TK; ++j) {
      const vec4 vv = vs[j * C4 + ox];
      const vec4 pa = kp[j * C4 + ((2u * oy) ^ (j & 7u))];
      const vec4 pb = kp[j * C4 + ((2u * oy + 1u) ^ (j & 7u))];
      acc[0] = fma(vec4(pa.x), vv, acc[0]);
      acc[1] = fma(vec4(pa.y), vv, acc[1]);
      acc[2] = fma(vec4(pa.z), vv, acc[2]);
      acc[3] = fma(vec4(pa.w), vv, acc[3]);
      acc[4] = fma(vec4(pb.x), vv, acc[4]);
      acc[5] = fma(vec4(pb.y), vv, acc[5]);
      acc[6] = fma(vec4(pb.z), vv, acc[6]);
      acc[7] = fma(vec4(pb.w), vv, acc[7]);
    }
  }

  // ---- denominators: the 8 partial sums of each query through shared memory, then 1 / l ------
  barrier();
  [[unroll]] for (uint i = 0u; i < 4u; ++i) {
    const uint qq = sy + 16u * i;
    red[qq * 2u + (sx >> 2u)][sx & 3u] = lpart[i];
  }
  barrier();
  if (t < TQ) {
    const vec4 r0 = red[t * 2u], r1 = red[t * 2u + 1u];
    const float l = ((r0.x + r0.y) + (r0.z + r0.w)) + ((r1.x + r1.y) + (r1.z + r1.w));
    corr4[t >> 2u][t & 3u] = l > 0.0 ? 1.0 / l : 0.0;  // every key excluded: zeros
  }
  barrier();
  // ---- output: stage the rows in qs (dead now), then coalesced scalar stores -----------------
  {
    const vec4 ia = corr4[2u * oy], ib = corr4[2u * oy + 1u];
    qs[(8u * oy + 0u) * C4 + ox] = acc[0] * ia.x;
    qs[(8u * oy + 1u) * C4 + ox] = acc[1] * ia.y;
    qs[(8u * oy + 2u) * C4 + ox] = acc[2] * ia.z;
    qs[(8u * oy + 3u) * C4 + ox] = acc[3] * ia.w;
    qs[(8u * oy + 4u) * C4 + ox] = acc[4] * ib.x;
    qs[(8u * oy + 5u) * C4 + ox] = acc[5] * ib.y;
    qs[(8u * oy + 6u) * C4 + ox] = acc[6] * ib.z;
    qs[(8u * oy + 7u) * C4 + ox] = acc[7] * ib.w;
  }
  barrier();
  for (uint e = t; e < TQ * 64u; e += NT) {
    const uint qq = e / 64u, col = e % 64u;
    if (qbase + qq < p.n_q && col < hd)
      dst[p.d_off + (qbase + qq) * p.d_stride + q_col + col] = qs[qq * C4 + (col >> 2u)][col & 3u];
  }
}
