#version 450
// ATTENTION, f32, one query per invocation (head dim <= 64): same semantics as attention.comp
//   logit(i,j) = (q_i . k_j) * scale + key_bias[j];  j masked (key_mask[j] != 0) or in another
//   sequence -> excluded; a query with no admissible key gets zeros.
// A workgroup = 64 consecutive queries of one head. Keys/values of the union of their sequences
// stream through shared memory in blocks of 32 (k-contiguous vec4 rows: every invocation reads the
// same address, a broadcast); each invocation keeps its scaled query and its output row in
// registers and runs the online softmax on chunks of 8 keys (one rescale of the output per chunk).
// Invocations whose query does not touch a block skip it. The output rows leave through shared
// memory (XOR-swizzled) so the global stores are coalesced.
// Grid: x = heads, y = ceil(Q / 64).
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#define WGQ 64u
#define BKEY 32u
#define CH 8u        // keys per softmax chunk
#define HD4 16u      // head dim / 4 (64)
layout(local_size_x = WGQ) in;
layout(std430, set = 0, binding = 0) readonly buffer QKV { float qkv[]; };
#include "attention_io.glsl"

const float NEG = -1.0e38;
const float NEG_HALF = -0.5e38;

#define VOFF (BKEY * HD4)
shared vec4 KV[2u * BKEY * HD4];  // K block at 0, V block at VOFF; output staging at the end
shared float key_add[BKEY];
shared uint q_lo[WGQ], q_hi[WGQ];
shared uint wg_lo, wg_hi;


void main() {
  uint t = gl_LocalInvocationID.x;
  uint h = gl_WorkGroupID.x;
  uint qi = p.q0 + gl_WorkGroupID.y * WGQ + t;
  uint hd = p.hd;
  uint q_col = h * hd, k_col = p.d + h * hd, v_col = 2u * p.d + h * hd;

  uint row = 0u, lo = 0u, hi = 0u;  // empty range for queries past the end
  if (qi < p.n_q) {
    row = (p.flags & 4u) != 0u ? uint(query_rows[p.qr_off + qi]) : qi;
    const uvec2 range = key_range_of(row);
    lo = range.x;
    hi = range.y;
  }
  vec4 q[HD4], o[HD4];
  [[unroll]] for (uint c = 0u; c < HD4; ++c) {
    vec4 v = vec4(0.0);
    [[unroll]] for (uint e = 0u; e < 4u; ++e) {
      uint col = 4u * c + e;
      if (qi < p.n_q && col < hd) v[e] = qkv[p.qkv_off + row * p.qkv_stride + q_col + col] * p.scale;
    }
    q[c] = v;
    o[c] = vec4(0.0);
  }
  float m_run = NEG, l_run = 0.0;

  // Workgroup key range: union of the queries' ranges (no shared atomics: they would need the
  // device-scope memory model feature).
  q_lo[t] = lo; q_hi[t] = hi;
  barrier();
  if (t == 0u) {
    uint a = 0xffffffffu, b = 0u;
    for (uint i = 0u; i < WGQ; ++i)
      if (q_hi[i] > q_lo[i]) { a = min(a, q_lo[i]); b = max(b, q_hi[i]); }
    wg_lo = a == 0xffffffffu ? 0u : a;
    wg_hi = b;
  }
  barrier();
  uint wlo = wg_lo, whi = wg_hi;

  for (uint kb = wlo; kb < whi; kb += BKEY) {
    for (uint i = t; i < BKEY * HD4 * 4u; i += WGQ) {
      uint j = i / (HD4 * 4u), c = i % (HD4 * 4u), key = kb + j;
      bool ok = key < whi && c < hd;
      uint base = p.qkv_off + key * p.qkv_stride;
      KV[j * HD4 + c / 4u][c % 4u] = ok ? qkv[base + k_col + c] : 0.0;
      KV[VOFF + j * HD4 + c / 4u][c % 4u] = ok ? qkv[base + v_col + c] : 0.0;
    }
    if (t < BKEY) {
      uint key = kb + t;
      float add = NEG;
      if (key < whi && ((p.flags & 2u) == 0u || !key_masked(key)))
        add = (p.flags & 1u) != 0u ? key_bias[p.bias_off + key] : 0.0;
      key_add[t] = add;
    }
    barrier();
    if (kb < hi && kb + BKEY > lo) {
      [[dont_unroll]] for (uint j0 = 0u; j0 < BKEY; j0 += CH) {
        float s[CH];
        float mx = m_run;
        [[unroll]] for (uint jj = 0u; jj < CH; ++jj) {
          uint j = j0 + jj, key = kb + j;
          vec4 acc = vec4(0.0);
          [[unroll]] for (uint c = 0u; c < HD4; ++c) acc = fma(q[c], KV[j * HD4 + c], acc);
          float a = key_add[j];
          bool ok = a > NEG_HALF && key >= lo && key < hi;
          s[jj] = ok ? acc.x + acc.y + acc.z + acc.w + a : NEG;
          mx = max(mx, s[jj]);
        }
        if (mx > NEG_HALF) {
          float alpha = m_run > NEG_HALF ? exp(m_run - mx) : 0.0;
          l_run *= alpha;
          [[unroll]] for (uint c = 0u; c < HD4; ++c) o[c] *= alpha;
          [[unroll]] for (uint jj = 0u; jj < CH; ++jj) {
            float e = s[jj] > NEG_HALF ? exp(s[jj] - mx) : 0.0;
            l_run += e;
            uint j = j0 + jj;
            [[unroll]] for (uint c = 0u; c < HD4; ++c) o[c] = fma(vec4(e), KV[VOFF + j * HD4 + c], o[c]);
          }
          m_run = mx;
        }
      }
    }
    barrier();
  }

  // Stage: query t's vec4 column c at t * HD4 + (c ^ (t % HD4)) (conflict-free both ways).
  float inv = l_run > 0.0 ? 1.0 / l_run : 0.0;
  [[unroll]] for (uint c = 0u; c < HD4; ++c) KV[t * HD4 + (c ^ (t % HD4))] = o[c] * inv;
  barrier();
  uint qbase = p.q0 + gl_WorkGroupID.y * WGQ;
  for (uint e = t; e < WGQ * HD4 * 4u; e += WGQ) {
    uint qq = e / (HD4 * 4u), col = e % (HD4 * 4u);
    if (qbase + qq < p.n_q && col < hd)
      dst[p.d_off + (qbase + qq) * p.d_stride + q_col + col] = KV[qq * HD4 + ((col / 4u) ^ (qq % HD4))][col % 4u];
  }
}
