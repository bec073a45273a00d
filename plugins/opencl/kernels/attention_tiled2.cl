// attention_tiled2.cl — fused packed varlen attention for head dim 64 (same semantics as
// attention.cl), with the softmax done in the registers of the S phase.
//
// Why (against attention_tiled.cl, the kernel this one replaced, 18 TFLOP/s on an H100): it
// spent 5 barriers per 32-key tile, round-trips every score through local memory for a separate softmax phase in
// which half the work-items idle, uses the precise exp(), and keeps a 32-register K/V prefetch
// alive across the whole tile (fewer work-groups per SM). Here, per tile of 32 keys:
//   S = Q K^T        each work-item 4 queries x 4 keys in registers (8 float4 loads per 64 FMAs)
//   tile max         8 partial maxima per query through local memory (one barrier)
//   P = exp2(S - m)  in the same registers (log2(e) is folded into the Q scale and key_bias),
//                    each work-item keeps partial denominators of its 4 queries
//   O += P V         each work-item 8 queries x 4 dims (3 float4 loads per 32 FMAs)
// 4 barriers per tile; P overwrites the K tile (K is dead once S is in registers), tiles are
// XOR-swizzled instead of padded (conflict-free float4 reads), so the group needs ~35 KiB of
// local memory. The next K/V tile is loaded into registers during the P V product only.
//
// Key selection per query is as in attention.cl: keys of the query's own sequence [kbeg, kend),
// key_bias added to the logit, key_mask = 1 -> excluded; a query with no key writes zeros.

#define TQ 64    // queries per work-group (at most; qpg below)
#define TK 32    // keys per tile
#define THD 64   // head dim (only this one)
#define NT 128   // work-items
#define C4 16    // float4 per row (THD / 4)
#define KV_LOADS 4  // float4 of K (and of V) each work-item loads per tile: TK * C4 / NT

// qpg: queries per work-group, 64, or 1 for a few query rows from many sequences (the CLS-only
// last layer): a group streams the union of its queries' key ranges.
__kernel __attribute__((reqd_work_group_size(NT, 1, 1)))
void attention_tiled2(ATTENTION_ARGS, uint qpg) {
  // Swizzles: Q row r, float4 c at r*16 + (c ^ (r & 3)); K row j, float4 c at j*16 + (c ^ (j & 7));
  // P key j, query float4 g at j*16 + (g ^ (j & 7)) (same array as K).
  __local float4 qs[TQ * C4];
  __local float4 kp[TK * C4];
  __local float4 vs[TK * C4];
  __local float4 red4[TQ * 2];  // per query: 8 partial maxima (then 8 partial denominators)
  __local float kadd[TK];       // log2(e) * key_bias, or -INFINITY for masked / out-of-range keys
  __local int qbeg[TQ], qend[TQ], qrow[TQ];
  __local float mbuf[2][TQ];    // running max of each query (log2 units), double-buffered per tile
  __local float corr_l[TQ];     // per-tile rescale factor of each query's O row, then 1 / l
  __local int range[2];
  __local float* const ps = (__local float*)kp;
  __local float* const red = (__local float*)red4;

  const uint t = get_local_id(0);
  const uint h = get_group_id(1);
  const uint q0 = get_group_id(0) * qpg;
  const float L2E = 1.4426950408889634f;

  attention_query_ranges(seg, seg_off, n_seg, query_rows, qr_off, has_qrows, n_q, q0, qpg, TQ, qbeg, qend,
                         qrow, range);
  // The "previous" max of the first tile (tile 0 writes mbuf[0]); read after the loop's barriers.
  if (t < TQ) mbuf[1][t] = -INFINITY;
  const int gbeg = range[0], gend = range[1];

  // Q tile, scaled by scale * log2(e) so that exp2 of the logit difference is the softmax term.
  const float qscale = scale * L2E;
  for (uint e = t; e < TQ * C4; e += NT) {
    const uint qq = e / C4, c = e % C4;
    const int row = qrow[qq];
    float4 v = (float4)(0.0f);
    if (row >= 0)
      v = vload4(c, qkv + (size_t)qkv_off + (size_t)row * qkv_stride + (size_t)h * THD) * qscale;
    qs[qq * C4 + (c ^ (qq & 3))] = v;
  }

  // S-phase layout: queries sy + 16 i, keys sx + 8 j (i, j < 4).
  const uint sx = t % 8, sy = t / 8;            // sx 0..7, sy 0..15
  // PV-phase layout: queries 8*oy..+7, dims 4*ox..+3.
  const uint ox = t % C4, oy = t / C4;          // ox 0..15, oy 0..7
  float4 acc[8];
#pragma unroll
  for (int i = 0; i < 8; ++i) acc[i] = (float4)(0.0f);
  float lpart[4] = {0.0f, 0.0f, 0.0f, 0.0f};  // this work-item's share of its queries' denominators

  float4 pk[KV_LOADS], pv[KV_LOADS];
  float pa_next = -INFINITY;
  if (gbeg < gend) FETCH_KV_TILE(gbeg, t);

  uint par = 0;
  for (int t0 = gbeg; t0 < gend; t0 += TK, par ^= 1u) {
    barrier(CLK_LOCAL_MEM_FENCE);  // (A) previous tile's P and V consumed (and qs written)
#pragma unroll
    for (int r = 0; r < KV_LOADS; ++r) {
      const uint e = t + (uint)r * NT, j = e / C4, c = e % C4;
      kp[j * C4 + (c ^ (j & 7))] = pk[r];
      vs[j * C4 + c] = pv[r];
    }
    if (t < TK) kadd[t] = pa_next;
    barrier(CLK_LOCAL_MEM_FENCE);  // (B) tile visible

    // S = Q K^T for 4 queries x 4 keys.
    float s[4][4];
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
      for (int j = 0; j < 4; ++j) s[i][j] = 0.0f;
#pragma unroll 4
    for (uint c = 0; c < C4; ++c) {
      float4 qv[4], kv[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) qv[i] = qs[(sy + 16 * i) * C4 + (c ^ (sy & 3))];
#pragma unroll
      for (int j = 0; j < 4; ++j) kv[j] = kp[(sx + 8 * j) * C4 + (c ^ sx)];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j)
          s[i][j] = fma(qv[i].w, kv[j].w,
                        fma(qv[i].z, kv[j].z, fma(qv[i].y, kv[j].y, fma(qv[i].x, kv[j].x, s[i][j]))));
    }
    // Key selection, then this work-item's max over its 4 keys of each query.
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int qq = (int)sy + 16 * i;
      const int kb0 = qbeg[qq], ke0 = qend[qq];
      float pm = -INFINITY;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int jj = (int)sx + 8 * j, kr = t0 + jj;
        const float a = kadd[jj];
        s[i][j] = (kr >= kb0 && kr < ke0 && a != -INFINITY) ? s[i][j] + a : -INFINITY;
        pm = fmax(pm, s[i][j]);
      }
      red[qq * 8 + sx] = pm;
    }
    barrier(CLK_LOCAL_MEM_FENCE);  // (C) partial maxima visible; every K read is done

    // Online softmax in registers: all 8 work-items of a query compute the same new max.
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const uint qq = sy + 16 * i;
      const float4 r0 = red4[qq * 2], r1 = red4[qq * 2 + 1];
      const float tmax = fmax(fmax(fmax(r0.x, r0.y), fmax(r0.z, r0.w)),
                              fmax(fmax(r1.x, r1.y), fmax(r1.z, r1.w)));
      const float m_old = mbuf[par ^ 1u][qq];
      const float mnew = fmax(m_old, tmax);
      // No live key so far: nothing to rescale, probabilities zero. First live tile: O, l are 0.
      const float corr = mnew == -INFINITY ? 1.0f : (m_old == -INFINITY ? 0.0f : native_exp2(m_old - mnew));
      float sum = 0.0f;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const float p = s[i][j] == -INFINITY ? 0.0f : native_exp2(s[i][j] - mnew);
        sum += p;
        const uint jj = sx + 8 * (uint)j;  // (jj & 7) == sx
        ps[jj * (4 * C4) + 4 * ((qq >> 2) ^ sx) + (qq & 3)] = p;
      }
      lpart[i] = lpart[i] * corr + sum;
      if (sx == 0) {
        mbuf[par][qq] = mnew;
        corr_l[qq] = corr;
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);  // (D) P, corr visible

    if (t0 + TK < gend) FETCH_KV_TILE(t0 + TK, t);  // lands during the P V product

    // O = O * corr + P V for 8 queries x 4 dims.
    {
      const float4 ca = vload4(2 * oy, corr_l), cb = vload4(2 * oy + 1, corr_l);
      acc[0] *= ca.x; acc[1] *= ca.y; acc[2] *= ca.z; acc[3] *= ca.w;
      acc[4] *= cb.x; acc[5] *= cb.y; acc[6] *= cb.z; acc[7] *= cb.w;
    }
#pragma unroll 8
    for (uint j = 0; j < TK; ++j) {
      const float4 vv = vs[j * C4 + ox];
      const float4 pa = kp[j * C4 + ((2 * oy) ^ (j & 7))];
      const float4 pb = kp[j * C4 + ((2 * oy + 1) ^ (j & 7))];
      acc[0] = fma((float4)(pa.x), vv, acc[0]);
      acc[1] = fma((float4)(pa.y), vv, acc[1]);
      acc[2] = fma((float4)(pa.z), vv, acc[2]);
      acc[3] = fma((float4)(pa.w), vv, acc[3]);
      acc[4] = fma((float4)(pb.x), vv, acc[4]);
      acc[5] = fma((float4)(pb.y), vv, acc[5]);
      acc[6] = fma((float4)(pb.z), vv, acc[6]);
      acc[7] = fma((float4)(pb.w), vv, acc[7]);
    }
  }

  // Denominators: the 8 partial sums of each query through local memory, then 1 / l.
  barrier(CLK_LOCAL_MEM_FENCE);
#pragma unroll
  for (int i = 0; i < 4; ++i) red[(sy + 16 * i) * 8 + sx] = lpart[i];
  barrier(CLK_LOCAL_MEM_FENCE);
  if (t < TQ) {
    const float4 r0 = red4[t * 2], r1 = red4[t * 2 + 1];
    const float l = ((r0.x + r0.y) + (r0.z + r0.w)) + ((r1.x + r1.y) + (r1.z + r1.w));
    corr_l[t] = l > 0.0f ? 1.0f / l : 0.0f;  // every key masked: zeros
  }
  barrier(CLK_LOCAL_MEM_FENCE);
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const uint qq = 8 * oy + i, qi = q0 + qq;
    if (qq < qpg && qi < n_q)
      vstore4(acc[i] * corr_l[qq], ox,
              dst + (size_t)d_off + (size_t)qi * d_stride + (size_t)h * THD);
  }
}
