// attention.cl — fused packed variable-length multi-head self-attention (ops.hpp ATTENTION).
//
// No n x n score matrix is ever stored: each work-item owns one query row of one head and keeps
// its running max m, running denominator l and output accumulator acc[HD] in registers while the
// work-group streams its sequences' keys/values through local memory in tiles of KB rows
// (online softmax: per tile, rescale by exp(m_old - m_new) once, then accumulate).
//
// Build-time parameters: HD (head dim), QB (queries per work-group = work-group size),
// KB (keys per tile). NDRange: (ceil(Q / QB) * QB, heads), local (QB, 1).
//
// Queries of one work-group may belong to different sequences (packed rows, or an arbitrary
// query_rows list): the group streams the union of its members' key ranges and every work-item
// skips keys outside its own sequence.

#ifndef HD
#define HD 64
#endif
#ifndef QB
#define QB 64
#endif
#ifndef KB
#define KB 32
#endif

// Head-dim vectors as float4 when HD allows: one local-memory load feeds four FMAs (on GPUs the
// inner loops are bound by local-memory loads, which all work-items share as broadcasts).
#if HD % 4 == 0
#define VW 4
typedef float4 vec_t;
#define VLOAD(i, p) vload4((i), (p))
#define VSTORE(v, i, p) vstore4((v), (i), (p))
#define VDOT(a, b) dot((a), (b))
#else
#define VW 1
typedef float vec_t;
#define VLOAD(i, p) ((p)[i])
#define VSTORE(v, i, p) ((p)[i] = (v))
#define VDOT(a, b) ((a) * (b))
#endif
#define HV (HD / VW)

__kernel __attribute__((reqd_work_group_size(QB, 1, 1)))
void attention(ATTENTION_ARGS) {
  __local vec_t ks[KB][HV];
  __local vec_t vs[KB][HV];
  __local float kadd[KB];  // key_bias, or -INFINITY for masked / out-of-range keys
  __local float sc[KB][QB];  // this tile's scores, one column per work-item (no private array
                             // indexed by a loop variable: that would spill on GPUs)
  __local int range[2];

  const uint lq = get_local_id(0);
  const uint h = get_group_id(1);
  const uint qi = get_group_id(0) * QB + lq;
  bool active = qi < n_q;

  // This query's row and its sequence's key range [kbeg, kend).
  int row = 0, kbeg = 0, kend = 0;
  if (active) {
    row = has_qrows ? query_rows[qr_off + qi] : (int)qi;
    if (row < 0 || row >= seg[seg_off + n_seg]) row = -1;  // caller's bug: output zeros
  }
  if (active && row >= 0) {
    const int s = sequence_of_row(seg, seg_off, n_seg, row);
    kbeg = seg[seg_off + s];
    kend = seg[seg_off + s + 1];
  }
  if (lq == 0) {
    range[0] = INT_MAX;
    range[1] = INT_MIN;
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  if (active && kend > kbeg) {
    atomic_min(&range[0], kbeg);
    atomic_max(&range[1], kend);
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  const int gbeg = range[0], gend = range[1];

  const bool live = active && row >= 0;
  const size_t qbase = (size_t)qkv_off + (size_t)(live ? row : 0) * qkv_stride + (size_t)h * HD;
  vec_t q[HV], acc[HV];
#pragma unroll
  for (int c = 0; c < HV; ++c) {
    q[c] = live ? VLOAD(c, qkv + qbase) * scale : (vec_t)(0.0f);
    acc[c] = (vec_t)(0.0f);
  }
  float m = -INFINITY, l = 0.0f;

  for (int t0 = gbeg; t0 < gend; t0 += KB) {
    // Cooperative load of one key/value tile (columns of head h in the k and v parts).
    for (uint e = lq; e < KB * HV; e += QB) {
      const int j = (int)(e / HV), c = (int)(e % HV);
      const int kr = t0 + j;
      vec_t kv = (vec_t)(0.0f), vv = (vec_t)(0.0f);
      if (kr < gend) {
        const size_t base = (size_t)qkv_off + (size_t)kr * qkv_stride + (size_t)h * HD;
        kv = VLOAD(c, qkv + base + d_model);
        vv = VLOAD(c, qkv + base + 2 * (size_t)d_model);
      }
      ks[j][c] = kv;
      vs[j][c] = vv;
    }
    for (uint j = lq; j < KB; j += QB) {
      const int kr = t0 + (int)j;
      float a = -INFINITY;
      if (kr < gend && !(has_mask && key_mask[km_off + kr] != 0))
        a = has_bias ? key_bias[kb_off + kr] : 0.0f;
      kadd[j] = a;
    }
    barrier(CLK_LOCAL_MEM_FENCE);

    if (live) {
      float tmax = -INFINITY;
      for (int j = 0; j < KB; ++j) {
        const int kr = t0 + j;
        float sv = -INFINITY;
        if (kr >= kbeg && kr < kend && kadd[j] != -INFINITY) {
          float dotv = 0.0f;
#pragma unroll
          for (int c = 0; c < HV; ++c) dotv += VDOT(q[c], ks[j][c]);
          sv = dotv + kadd[j];
        }
        sc[j][lq] = sv;
        tmax = fmax(tmax, sv);
      }
      if (tmax != -INFINITY) {
        const float mnew = fmax(m, tmax);
        const float corr = exp(m - mnew);  // m = -inf on the first live tile: corr = 0
        l *= corr;
#pragma unroll
        for (int c = 0; c < HV; ++c) acc[c] *= corr;
        for (int j = 0; j < KB; ++j) {
          const float p = exp(sc[j][lq] - mnew);  // s = -inf: p = 0
          l += p;
#pragma unroll
          for (int c = 0; c < HV; ++c) acc[c] = fma((vec_t)(p), vs[j][c], acc[c]);
        }
        m = mnew;
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }

  if (active) {
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;  // every key masked: zeros
    const size_t obase = (size_t)d_off + (size_t)qi * d_stride + (size_t)h * HD;
#pragma unroll
    for (int c = 0; c < HV; ++c) VSTORE(acc[c] * inv, c, dst + obase);
  }
}
