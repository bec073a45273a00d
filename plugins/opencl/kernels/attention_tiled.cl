// attention_tiled.cl — fused packed varlen attention for head dim 64 as two small register-tiled
// GEMMs per key tile (same semantics as attention.cl; the backend picks this one for HD = 64).
//
// Why: attention.cl gives each work-item one query, so every K/V element it reads from local
// memory feeds only 4 FMAs (a float4 broadcast); on NVIDIA GPUs that kernel is bound by
// local-memory loads (11 TFLOP/s on an H100). Here a work-group of 128 work-items owns 64
// queries of one head and per tile of 32 keys computes
//   S[64 x 32] = Q K^T   each work-item 4 queries x 4 keys   (8 float4 loads per 64 FMAs)
//   online softmax       two work-items per query, 16 keys each (running max m, denominator l)
//   O[64 x 64] += P V    each work-item 8 queries x 4 dims   (3 float4 loads per 32 FMAs)
// Q (pre-scaled), K, V and P live in local memory (44 KiB, rows padded against bank conflicts);
// O stays in registers; the next K/V tile is prefetched into registers during the math.
//
// Key selection per query is as in attention.cl: keys of the query's own sequence [kbeg, kend),
// key_bias added to the logit, key_mask = 1 -> excluded; a query with no key writes zeros.

#define TQ 64    // queries per work-group (at most; QPG below)
#define TK 32    // keys per tile
#define THD 64   // head dim (only this one)
#define NT 128   // work-items
#define RS 68    // padded row stride of the local tiles: rows 8 apart hit different banks with float4

// qpg: queries per work-group, 64, or 1 for a few query rows from many sequences (the CLS-only
// last layer): a group streams the union of its queries' key ranges, so one CLS query per group
// keeps every group to its own sequence.
__kernel __attribute__((reqd_work_group_size(NT, 1, 1)))
void attention_tiled(__global const float* qkv, uint qkv_off, uint qkv_stride,
                     __global const int* seg, uint seg_off, uint n_seg,
                     __global const float* key_bias, uint kb_off, int has_bias,
                     __global const uchar* key_mask, uint km_off, int has_mask,
                     __global const int* query_rows, uint qr_off, int has_qrows,
                     __global float* dst, uint d_off, uint d_stride,
                     uint n_q, uint d_model, float scale, uint qpg) {
  __local float qs[TQ][RS];    // Q rows, scaled
  __local float ks[TK][RS];    // K rows of the tile
  __local float vs[TK][THD];   // V rows of the tile
  __local float ps[TK][RS];    // scores, then probabilities ([key][query])
  __local float kadd[TK];      // key_bias, or -INFINITY for masked / out-of-range keys
  __local int qbeg[TQ], qend[TQ];  // each query's key range (empty for inactive queries)
  __local float corr_l[TQ];    // per-tile rescale factor of each query's O row
  __local float mrun[TQ];      // running max of each query's logits
  __local float red[2][TQ];    // the two half-tile partial maxima / sums of each query
  __local int qrow[TQ];
  __local int range[2];

  const uint t = get_local_id(0);
  const uint h = get_group_id(1);
  const uint q0 = get_group_id(0) * qpg;

  if (t == 0) {
    range[0] = INT_MAX;
    range[1] = INT_MIN;
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  if (t < TQ) {
    const uint qi = q0 + t;
    int kbeg = 0, kend = 0, row = -1;
    if (t < qpg && qi < n_q) {
      row = has_qrows ? query_rows[qr_off + qi] : (int)qi;
      if (row < 0 || row >= seg[seg_off + n_seg]) row = -1;  // caller's bug: output zeros
      if (row >= 0) {
        int lo = 0, hi = (int)n_seg - 1;
        while (lo < hi) {
          const int mid = (lo + hi + 1) / 2;
          if (seg[seg_off + mid] <= row) lo = mid; else hi = mid - 1;
        }
        kbeg = seg[seg_off + lo];
        kend = seg[seg_off + lo + 1];
      }
    }
    qbeg[t] = kbeg;
    qend[t] = kend;
    qrow[t] = row;
    if (kend > kbeg) {
      atomic_min(&range[0], kbeg);
      atomic_max(&range[1], kend);
    }
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  const int gbeg = range[0], gend = range[1];

  // Q tile (scaled): 64 rows x 16 float4, row-major like the source.
  for (uint e = t; e < TQ * (THD / 4); e += NT) {
    const uint qq = e / (THD / 4), c = e % (THD / 4);
    const int row = qrow[qq];
    float4 v = (float4)(0.0f);
    if (row >= 0)
      v = vload4(c, qkv + (size_t)qkv_off + (size_t)row * qkv_stride + (size_t)h * THD) * scale;
    vstore4(v, c, &qs[qq][0]);
  }

  // S-phase layout: queries sy + 16 i, keys sx + 8 j (i, j < 4).
  const uint sx = t % 8, sy = t / 8;                      // sx 0..7, sy 0..15
  // PV-phase layout: queries 8*oy..+7, dims 4*ox..+3.
  const uint ox = t % (THD / 4), oy = t / (THD / 4);     // ox 0..15, oy 0..7
  float4 acc[8];
#pragma unroll
  for (int i = 0; i < 8; ++i) acc[i] = (float4)(0.0f);
  float l = 0.0f;  // work-items 0..63: their query's softmax denominator
  if (t < TQ) mrun[t] = -INFINITY;

  // The next K/V tile is fetched into registers while the current one is computed (TK * 16
  // float4 of K and of V = 4 + 4 per work-item), so global latency is hidden behind the math.
  float4 pk[TK * (THD / 4) / NT], pv[TK * (THD / 4) / NT];
  float pa_next = -INFINITY;
#define FETCH_TILE(T0)                                                                    \
  do {                                                                                    \
    for (int r = 0; r < TK * (THD / 4) / NT; ++r) {                                       \
      const uint e = t + (uint)r * NT, j = e / (THD / 4), c = e % (THD / 4);              \
      const int kr = (T0) + (int)j;                                                       \
      pk[r] = (float4)(0.0f);                                                             \
      pv[r] = (float4)(0.0f);                                                             \
      if (kr < gend) {                                                                    \
        const size_t base = (size_t)qkv_off + (size_t)kr * qkv_stride + (size_t)h * THD; \
        pk[r] = vload4(c, qkv + base + d_model);                                          \
        pv[r] = vload4(c, qkv + base + 2 * (size_t)d_model);                              \
      }                                                                                   \
    }                                                                                     \
    if (t < TK) {                                                                         \
      const int kr = (T0) + (int)t;                                                       \
      pa_next = -INFINITY;                                                                \
      if (kr < gend && !(has_mask && key_mask[km_off + kr] != 0))                         \
        pa_next = has_bias ? key_bias[kb_off + kr] : 0.0f;                                \
    }                                                                                     \
  } while (0)
  if (gbeg < gend) FETCH_TILE(gbeg);

  for (int t0 = gbeg; t0 < gend; t0 += TK) {
    barrier(CLK_LOCAL_MEM_FENCE);  // previous tile fully consumed (and qs written, first time)
#pragma unroll
    for (int r = 0; r < TK * (THD / 4) / NT; ++r) {
      const uint e = t + (uint)r * NT, j = e / (THD / 4), c = e % (THD / 4);
      vstore4(pk[r], c, &ks[j][0]);
      vstore4(pv[r], c, &vs[j][0]);
    }
    if (t < TK) kadd[t] = pa_next;
    barrier(CLK_LOCAL_MEM_FENCE);
    if (t0 + TK < gend) FETCH_TILE(t0 + TK);

    // S = Q K^T for 4 queries x 4 keys: per float4 of the head dim, 8 local loads feed 64 FMAs.
    {
      float s[4][4];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) s[i][j] = 0.0f;
#pragma unroll 4
      for (int c = 0; c < THD / 4; ++c) {
        float4 qv[4], kv[4];
#pragma unroll
        for (int i = 0; i < 4; ++i) qv[i] = vload4(c, &qs[sy + 16 * i][0]);
#pragma unroll
        for (int j = 0; j < 4; ++j) kv[j] = vload4(c, &ks[sx + 8 * j][0]);
#pragma unroll
        for (int i = 0; i < 4; ++i)
#pragma unroll
          for (int j = 0; j < 4; ++j)
            s[i][j] = fma(qv[i].w, kv[j].w,
                          fma(qv[i].z, kv[j].z, fma(qv[i].y, kv[j].y, fma(qv[i].x, kv[j].x, s[i][j]))));
      }
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int qq = (int)sy + 16 * i;
        const int kb0 = qbeg[qq], ke0 = qend[qq];
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          const int jj = (int)sx + 8 * j, kr = t0 + jj;
          const float a = kadd[jj];
          ps[jj][qq] = (kr >= kb0 && kr < ke0 && a != -INFINITY) ? s[i][j] + a : -INFINITY;
        }
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);

    // Online softmax: query t % 64, keys of half t / 64 (16 each), halves combined in local.
    {
      const uint q = t % TQ, hf = t / TQ, j0 = hf * (TK / 2);
      float tmax = -INFINITY;
#pragma unroll
      for (uint j = 0; j < TK / 2; ++j) tmax = fmax(tmax, ps[j0 + j][q]);
      red[hf][q] = tmax;
      barrier(CLK_LOCAL_MEM_FENCE);
      const float m_old = mrun[q];
      const float mnew = fmax(m_old, fmax(red[0][q], red[1][q]));
      float sum = 0.0f;
      if (mnew == -INFINITY) {  // no live key so far: probabilities are all zero
#pragma unroll
        for (uint j = 0; j < TK / 2; ++j) ps[j0 + j][q] = 0.0f;
      } else {
#pragma unroll
        for (uint j = 0; j < TK / 2; ++j) {
          const float p = exp(ps[j0 + j][q] - mnew);  // s = -inf: p = 0
          ps[j0 + j][q] = p;
          sum += p;
        }
      }
      barrier(CLK_LOCAL_MEM_FENCE);  // both halves read red (max) and mrun before they change
      red[hf][q] = sum;
      barrier(CLK_LOCAL_MEM_FENCE);
      if (t < TQ) {
        // m_old = -inf on the first live tile: corr = 0; no live key yet: nothing to rescale.
        const float corr = mnew == -INFINITY ? 1.0f : exp(m_old - mnew);
        l = l * corr + red[0][q] + red[1][q];
        mrun[q] = mnew;
        corr_l[q] = corr;
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);

    // O = O * corr + P V for 8 queries x 4 dims: 3 local float4 loads feed 32 FMAs.
#pragma unroll
    for (int i = 0; i < 8; ++i) acc[i] *= corr_l[8 * oy + i];
#pragma unroll 8
    for (int j = 0; j < TK; ++j) {
      const float4 vv = vload4(ox, &vs[j][0]);
      const float4 pa = vload4(2 * oy, &ps[j][0]);
      const float4 pb = vload4(2 * oy + 1, &ps[j][0]);
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

  // 1 / l per query through local memory, then each work-item stores its 8 x 4 block.
  barrier(CLK_LOCAL_MEM_FENCE);
  if (t < TQ) corr_l[t] = l > 0.0f ? 1.0f / l : 0.0f;  // every key masked: zeros
  barrier(CLK_LOCAL_MEM_FENCE);
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const uint qq = 8 * oy + i, qi = q0 + qq;
    if (qq < qpg && qi < n_q)
      vstore4(acc[i] * corr_l[qq], ox,
              dst + (size_t)d_off + (size_t)qi * d_stride + (size_t)h * THD);
  }
}
