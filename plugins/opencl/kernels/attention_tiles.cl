// attention_tiles.cl — what the attention kernels share: the sequence of a packed row (all three),
// and for the two 64-query tiled kernels (attention_tiled2.cl, attention_mma_tf32.cl) the
// per-query key ranges of a work-group and the K/V tile fetch. Prepended (after common.cl) to the
// attention programs only.

// The arguments of every attention kernel, in the order the host sets them (ops.cpp,
// run_attention); the 64-query kernels take `uint qpg` (queries per work-group) after them.
#define ATTENTION_ARGS                                                      \
  __global const float *qkv, uint qkv_off, uint qkv_stride,                 \
      __global const int *seg, uint seg_off, uint n_seg,                    \
      __global const float *key_bias, uint kb_off, int has_bias,            \
      __global const uchar *key_mask, uint km_off, int has_mask,            \
      __global const int *query_rows, uint qr_off, int has_qrows,           \
      __global float *dst, uint d_off, uint d_stride, uint n_q, uint d_model, float scale

// The sequence holding packed row `row` (0 <= row < seg[n_seg]): the largest s with seg[s] <= row
// (empty sequences are skipped by "largest").
int sequence_of_row(__global const int* seg, uint seg_off, uint n_seg, int row) {
  int lo = 0, hi = (int)n_seg - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (seg[seg_off + mid] <= row) lo = mid; else hi = mid - 1;
  }
  return lo;
}

// Each of the group's first TQ work-items takes query q0 + its index (< qpg and < n_q): its row
// (query_rows[q] or q itself; -1 when out of range: the caller's bug, the query outputs zeros) and
// the key range [kbeg, kend) of the row's sequence (binary search in seg). range[0..1] becomes the
// union of the group's ranges (INT_MAX, INT_MIN when empty). Every work-item must call it.
void attention_query_ranges(__global const int* seg, uint seg_off, uint n_seg,
                            __global const int* query_rows, uint qr_off, int has_qrows,
                            uint n_q, uint q0, uint qpg, uint tq,
                            __local int* qbeg, __local int* qend, __local int* qrow, __local int* range) {
  const uint t = get_local_id(0);
  if (t == 0) {
    range[0] = INT_MAX;
    range[1] = INT_MIN;
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  if (t < tq) {
    const uint qi = q0 + t;
    int kbeg = 0, kend = 0, row = -1;
    if (t < qpg && qi < n_q) {
      row = has_qrows ? query_rows[qr_off + qi] : (int)qi;
      if (row < 0 || row >= seg[seg_off + n_seg]) row = -1;
      if (row >= 0) {
        const int s = sequence_of_row(seg, seg_off, n_seg, row);
        kbeg = seg[seg_off + s];
        kend = seg[seg_off + s + 1];
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
}

// Loads keys [T0, T0 + TK) of head h into registers: float4 number LID + r * NT of the K rows and
// of the V rows into pk[r], pv[r] (r < KV_LOADS; 16 float4 per row of THD = 64; zeros past gend),
// and for work-items LID < TK the key's additive term into pa_next: log2(e) * key_bias, or
// -INFINITY for a masked or out-of-range key. Uses the kernels' argument names.
#define FETCH_KV_TILE(T0, LID)                                                            \
  do {                                                                                    \
    for (uint r = 0; r < KV_LOADS; ++r) {                                                 \
      const uint e = (LID) + r * NT, j = e >> 4, c = e & 15;                              \
      const int kr = (T0) + (int)j;                                                       \
      pk[r] = (float4)(0.0f);                                                             \
      pv[r] = (float4)(0.0f);                                                             \
      if (kr < gend) {                                                                    \
        const size_t base = (size_t)qkv_off + (size_t)kr * qkv_stride + (size_t)h * THD; \
        pk[r] = vload4(c, qkv + base + d_model);                                          \
        pv[r] = vload4(c, qkv + base + 2 * (size_t)d_model);                              \
      }                                                                                   \
    }                                                                                     \
    if ((LID) < TK) {                                                                     \
      const int kr = (T0) + (int)(LID);                                                   \
      pa_next = -INFINITY;                                                                \
      if (kr < gend && !(has_mask && key_mask[km_off + kr] != 0))                         \
        pa_next = has_bias ? key_bias[kb_off + kr] * 1.4426950408889634f : 0.0f;          \
    }                                                                                     \
  } while (0)
