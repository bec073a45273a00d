// attention_mma_tf32.cl — fused packed varlen attention for head dim 64 on NVIDIA tensor cores
// with fp32 accuracy (3xTF32, mma_tf32.cl). Same semantics and arguments as attention_tiled2.cl;
// the host runs it for groups of 64 query rows (not the one-query-per-group CLS-only layer).
//
// Why: attention_tiled2.cl does its two matrix products on the FMA units (~22 TFLOP/s on an
// H100, a quarter of a UCE layer's time once the GEMMs moved to the tensor cores). Here each warp
// owns 16 queries, flash-attention style, and everything between the two products stays in its
// registers:
//   S = Q K^T   Q's fragments are loaded and split once, kept in registers for the whole kernel;
//               K's tile is split into big and small parts once, when it is stored to local memory
//   softmax     each query row lives in the 4 lanes of a quad: maxima and sums by two shuffles,
//               no local memory and no barrier
//   O += P V    S's accumulator registers are P's A fragments, because the key order inside each
//               8-key block may be permuted: A column t is key 2t, column t+4 key 2t+1, and V's
//               B fragments read those same keys
// Per 32-key tile: two barriers (tile stored, tile consumed); the next tile is loaded into
// registers during the products. Both products sum at most 32 deep on the tensor cores (S: two
// halves of the head dim; P V: one tile) and add those partial sums in rounded fp32.
//
// Key selection per query as in attention.cl: keys of the query's own sequence [kbeg, kend),
// key_bias added to the logit, key_mask = 1 -> excluded; a query with no key writes zeros.

#define TQ 64         // queries per work-group: 4 warps x 16
#define TK 32         // keys per tile
#define THD 64        // head dim (only this one)
#define NT 128        // work-items
#define LDT (THD + 4) // local row stride (floats): fragment reads hit 32 different banks
#define KV_LOADS 4    // float4 of K (and of V) each work-item loads per tile: TK * THD / 4 / NT
// (Measured on an H100, 8 and 32 sequences of ~1073 keys: 2 warps per group 20% slower, 8 warps
// the same within 3%; 230 registers, no spills, 35 KiB of local memory.)

__kernel __attribute__((reqd_work_group_size(NT, 1, 1)))
void attention_mma_tf32x3(ATTENTION_ARGS, uint qpg) {
  // K and V tiles as TF32 big and small parts (uint bit patterns), row = key.
  __local uint4 tiles4[4 * TK * LDT / 4];
  __local uint* const k_big = (__local uint*)tiles4;
  __local uint* const k_small = k_big + TK * LDT;
  __local uint* const v_big = k_small + TK * LDT;
  __local uint* const v_small = v_big + TK * LDT;
  __local float kadd[TK];  // log2(e) * key_bias, or -INFINITY for masked / out-of-range keys
  __local int qbeg[TQ], qend[TQ], qrow[TQ];
  __local int range[2];

  const uint tid = get_local_id(0);
  const uint lane = tid & 31, warp = tid >> 5;
  const uint g = lane >> 2, t = lane & 3;
  const uint h = get_group_id(1);
  const uint q0 = get_group_id(0) * TQ;
  const float L2E = 1.4426950408889634f;

  attention_query_ranges(seg, seg_off, n_seg, query_rows, qr_off, has_qrows, n_q, q0, qpg, TQ, qbeg, qend,
                         qrow, range);
  const int gbeg = range[0], gend = range[1];

  // This lane's two queries: rows g and g + 8 of the warp's 16 (C fragment rows).
  const uint qa = warp * 16 + g, qb = qa + 8;
  const int beg_a = qbeg[qa], end_a = qend[qa], beg_b = qbeg[qb], end_b = qend[qb];

  // Q's A fragments for the 8 k steps of the head dim, scaled by scale * log2(e) (so that exp2
  // of a logit difference is the softmax term), split once.
  uint q_big[8][4], q_small[8][4];
  {
    const float qscale = scale * L2E;
    const int ra = qrow[qa], rb = qrow[qb];
    __global const float* pa = qkv + qkv_off + (size_t)max(ra, 0) * qkv_stride + h * THD;
    __global const float* pb = qkv + qkv_off + (size_t)max(rb, 0) * qkv_stride + h * THD;
#pragma unroll
    for (uint ks = 0; ks < 8; ++ks) {
      const float v[4] = {ra >= 0 ? pa[8 * ks + t] * qscale : 0.0f,
                          rb >= 0 ? pb[8 * ks + t] * qscale : 0.0f,
                          ra >= 0 ? pa[8 * ks + t + 4] * qscale : 0.0f,
                          rb >= 0 ? pb[8 * ks + t + 4] * qscale : 0.0f};
#pragma unroll
      for (uint c = 0; c < 4; ++c) {
        q_big[ks][c] = TF32_BIG(v[c]);
        q_small[ks][c] = TF32_SMALL(v[c], q_big[ks][c]);
      }
    }
  }

  float o[8][4];  // O: 8 dim tiles of 8, C layout (queries g, g + 8)
#pragma unroll
  for (uint i = 0; i < 8; ++i)
#pragma unroll
    for (uint c = 0; c < 4; ++c) o[i][c] = 0.0f;
  float m_a = -INFINITY, m_b = -INFINITY;  // running maxima (log2 units)
  float l_a = 0.0f, l_b = 0.0f;            // this lane's share of the denominators

  // Work-item tid loads float4 number tid + i * NT of the K and V tiles (16 per key row).
  float4 pk[KV_LOADS], pv[KV_LOADS];
  float pa_next = -INFINITY;
  if (gbeg < gend) FETCH_KV_TILE(gbeg, tid);

  for (int t0 = gbeg; t0 < gend; t0 += TK) {
    barrier(CLK_LOCAL_MEM_FENCE);  // the previous tile is consumed
#pragma unroll
    for (uint r = 0; r < KV_LOADS; ++r) {
      const uint e = tid + r * NT, at = (e >> 4) * LDT + (e & 15) * 4;
      const uint4 kb = as_uint4(pk[r]) & 0xffffe000u, vb = as_uint4(pv[r]) & 0xffffe000u;
      *(__local uint4*)(k_big + at) = kb;
      *(__local uint4*)(k_small + at) = (as_uint4(pk[r] - as_float4(kb)) + 0x1000u) & 0xffffe000u;
      *(__local uint4*)(v_big + at) = vb;
      *(__local uint4*)(v_small + at) = (as_uint4(pv[r] - as_float4(vb)) + 0x1000u) & 0xffffe000u;
    }
    if (tid < TK) kadd[tid] = pa_next;
    barrier(CLK_LOCAL_MEM_FENCE);  // the tile is visible
    if (t0 + TK < gend) FETCH_KV_TILE(t0 + TK, tid);  // lands during the products

    // S = Q K^T: 4 blocks of 8 keys; each head-dim half summed from zero on the tensor cores.
    float s[4][4];
#pragma unroll
    for (uint nb = 0; nb < 4; ++nb) {
#pragma unroll
      for (uint kh = 0; kh < 2; ++kh) {
        float part[4];
#pragma unroll
        for (uint kq = 0; kq < 4; ++kq) {
          const uint ks = kh * 4 + kq, at = (nb * 8 + g) * LDT + ks * 8 + t;
          const uint bb[2] = {k_big[at], k_big[at + 4]}, bs[2] = {k_small[at], k_small[at + 4]};
          if (kq == 0) {
            MMA3_TF32_FIRST(part, q_big[ks], q_small[ks], bb, bs);
          } else {
            MMA3_TF32_ADD(part, q_big[ks], q_small[ks], bb, bs);
          }
        }
#pragma unroll
        for (uint c = 0; c < 4; ++c) s[nb][c] = kh == 0 ? part[c] : s[nb][c] + part[c];
      }
    }

    // Key selection (this lane's keys: 2t and 2t + 1 of each block), then the tile maxima.
    float tmax_a = -INFINITY, tmax_b = -INFINITY;
#pragma unroll
    for (uint nb = 0; nb < 4; ++nb)
#pragma unroll
      for (uint c = 0; c < 4; ++c) {
        const uint jj = nb * 8 + 2 * t + (c & 1);
        const int kr = t0 + (int)jj;
        const float a = kadd[jj];
        const bool in_a = c < 2, ok = a != -INFINITY && (in_a ? (kr >= beg_a && kr < end_a)
                                                              : (kr >= beg_b && kr < end_b));
        s[nb][c] = ok ? s[nb][c] + a : -INFINITY;
        if (in_a) tmax_a = fmax(tmax_a, s[nb][c]); else tmax_b = fmax(tmax_b, s[nb][c]);
      }
    tmax_a = fmax(tmax_a, shfl_xor_f32(tmax_a, 1u));
    tmax_a = fmax(tmax_a, shfl_xor_f32(tmax_a, 2u));
    tmax_b = fmax(tmax_b, shfl_xor_f32(tmax_b, 1u));
    tmax_b = fmax(tmax_b, shfl_xor_f32(tmax_b, 2u));

    // Online softmax: all 4 lanes of a query hold the same new maximum.
    const float mn_a = fmax(m_a, tmax_a), mn_b = fmax(m_b, tmax_b);
    // No live key so far: nothing to rescale. First live tile: O and l are 0.
    const float corr_a = mn_a == -INFINITY ? 1.0f : (m_a == -INFINITY ? 0.0f : native_exp2(m_a - mn_a));
    const float corr_b = mn_b == -INFINITY ? 1.0f : (m_b == -INFINITY ? 0.0f : native_exp2(m_b - mn_b));
    m_a = mn_a;
    m_b = mn_b;
    // P as A fragments (key block nb = k step): a0 (g, key 2t) a1 (g+8, 2t) a2 (g, 2t+1) a3 (g+8, 2t+1).
    uint p_big[4][4], p_small[4][4];
    float sum_a = 0.0f, sum_b = 0.0f;
#pragma unroll
    for (uint nb = 0; nb < 4; ++nb) {
      const float p[4] = {s[nb][0] == -INFINITY ? 0.0f : native_exp2(s[nb][0] - mn_a),
                          s[nb][1] == -INFINITY ? 0.0f : native_exp2(s[nb][1] - mn_a),
                          s[nb][2] == -INFINITY ? 0.0f : native_exp2(s[nb][2] - mn_b),
                          s[nb][3] == -INFINITY ? 0.0f : native_exp2(s[nb][3] - mn_b)};
      sum_a += p[0] + p[1];
      sum_b += p[2] + p[3];
      const float pa[4] = {p[0], p[2], p[1], p[3]};
#pragma unroll
      for (uint c = 0; c < 4; ++c) {
        p_big[nb][c] = TF32_BIG(pa[c]);
        p_small[nb][c] = TF32_SMALL(pa[c], p_big[nb][c]);
      }
    }
    l_a = l_a * corr_a + sum_a;
    l_b = l_b * corr_b + sum_b;

    // O = O * corr + P V, one dim tile of 8 at a time; the tile's sum from zero on the tensor cores.
#pragma unroll
    for (uint dt = 0; dt < 8; ++dt) {
      float part[4];
#pragma unroll
      for (uint nb = 0; nb < 4; ++nb) {
        const uint at = (nb * 8 + 2 * t) * LDT + dt * 8 + g;
        const uint bb[2] = {v_big[at], v_big[at + LDT]}, bs[2] = {v_small[at], v_small[at + LDT]};
        if (nb == 0) {
          MMA3_TF32_FIRST(part, p_big[nb], p_small[nb], bb, bs);
        } else {
          MMA3_TF32_ADD(part, p_big[nb], p_small[nb], bb, bs);
        }
      }
      o[dt][0] = o[dt][0] * corr_a + part[0];
      o[dt][1] = o[dt][1] * corr_a + part[1];
      o[dt][2] = o[dt][2] * corr_b + part[2];
      o[dt][3] = o[dt][3] * corr_b + part[3];
    }
  }

  // Denominators: the 4 lanes' shares of each query, then 1 / l (every key masked: zeros).
  l_a += shfl_xor_f32(l_a, 1u);
  l_a += shfl_xor_f32(l_a, 2u);
  l_b += shfl_xor_f32(l_b, 1u);
  l_b += shfl_xor_f32(l_b, 2u);
  const float inv_a = l_a > 0.0f ? 1.0f / l_a : 0.0f, inv_b = l_b > 0.0f ? 1.0f / l_b : 0.0f;
  const uint qi_a = q0 + qa, qi_b = q0 + qb;
#pragma unroll
  for (uint dt = 0; dt < 8; ++dt) {
    const uint col = h * THD + dt * 8 + 2 * t;
    if (qa < qpg && qi_a < n_q)
      vstore2((float2)(o[dt][0], o[dt][1]) * inv_a, 0, dst + d_off + (size_t)qi_a * d_stride + col);
    if (qb < qpg && qi_b < n_q)
      vstore2((float2)(o[dt][2], o[dt][3]) * inv_b, 0, dst + d_off + (size_t)qi_b * d_stride + col);
  }
}
