// elementwise.cl — row/column-parallel ops: one work-item per output element, NDRange
// (columns rounded up to the work-group width, rows). Every kernel bounds-checks its column.

#define AT(off, stride, r, c) ((size_t)(off) + (size_t)(r) * (size_t)(stride) + (size_t)(c))

// GATHER_ROWS / SLICE_ROWS: dst[i,:] = table[idx[i],:]; an index outside [0, n_table) writes zeros
// (the caller's bug per ops.hpp; a GPU cannot report it without a sync, so never read out of bounds).
#define GATHER_KERNEL(S)                                                                         \
  __kernel void gather_rows_##S(__global const T_##S* table, uint t_off, uint t_stride,         \
                                uint n_table, __global const int* idx, uint i_off,               \
                                __global float* dst, uint d_off, uint d_stride, uint cols) {     \
    const uint c = get_global_id(0), r = get_global_id(1);                                       \
    if (c >= cols) return;                                                                       \
    const int t = idx[i_off + r];                                                                \
    float v = 0.0f;                                                                              \
    if (t >= 0 && (uint)t < n_table) v = LOAD_##S(table, AT(t_off, t_stride, t, c));             \
    dst[AT(d_off, d_stride, r, c)] = v;                                                          \
  }
GATHER_KERNEL(f32)
GATHER_KERNEL(f16)
GATHER_KERNEL(bf16)

// COPY with dtype conversion (f32 <-> f16/bf16, round to nearest even).
#define COPY_KERNEL(S, D)                                                                       \
  __kernel void copy_##S##_##D(__global const T_##S* src, uint s_off, uint s_stride,            \
                               __global T_##D* dst, uint d_off, uint d_stride, uint cols) {      \
    const uint c = get_global_id(0), r = get_global_id(1);                                      \
    if (c >= cols) return;                                                                      \
    const float v = LOAD_##S(src, AT(s_off, s_stride, r, c));                                   \
    STORE_##D(dst, AT(d_off, d_stride, r, c), v);                                               \
  }
COPY_KERNEL(f32, f32)
COPY_KERNEL(f32, f16)
COPY_KERNEL(f32, bf16)
COPY_KERNEL(f16, f32)
COPY_KERNEL(f16, f16)
COPY_KERNEL(f16, bf16)
COPY_KERNEL(bf16, f32)
COPY_KERNEL(bf16, f16)
COPY_KERNEL(bf16, bf16)

// GELU / RELU / SCALE share one kernel: dst = act(x) * scale.
__kernel void act_scale(__global const float* x, uint x_off, uint x_stride, __global float* dst,
                        uint d_off, uint d_stride, uint cols, int act, float scale) {
  const uint c = get_global_id(0), r = get_global_id(1);
  if (c >= cols) return;
  dst[AT(d_off, d_stride, r, c)] = apply_act(x[AT(x_off, x_stride, r, c)], act) * scale;
}

// ADD: b_stride = 0 broadcasts b's single row over all rows.
__kernel void add(__global const float* a, uint a_off, uint a_stride, __global const float* b,
                  uint b_off, uint b_stride, __global float* dst, uint d_off, uint d_stride,
                  uint cols) {
  const uint c = get_global_id(0), r = get_global_id(1);
  if (c >= cols) return;
  dst[AT(d_off, d_stride, r, c)] = a[AT(a_off, a_stride, r, c)] + b[AT(b_off, b_stride, r, c)];
}

// ADD_ROWS_PE: dst[i,:] = x[i,:] + pe[pos[i],:]; a position outside [0, n_pe) adds nothing.
__kernel void add_rows_pe(__global const float* x, uint x_off, uint x_stride,
                          __global const float* pe, uint p_off, uint p_stride, uint n_pe,
                          __global const int* pos, uint pos_off, __global float* dst, uint d_off,
                          uint d_stride, uint cols) {
  const uint c = get_global_id(0), r = get_global_id(1);
  if (c >= cols) return;
  const int p = pos[pos_off + r];
  float v = x[AT(x_off, x_stride, r, c)];
  if (p >= 0 && (uint)p < n_pe) v += pe[AT(p_off, p_stride, p, c)];
  dst[AT(d_off, d_stride, r, c)] = v;
}

// LINEAR epilogue after CLBlast (which cannot fuse): dst = act(dst + b), in place.
__kernel void bias_act(__global float* dst, uint d_off, uint d_stride, __global const float* b,
                       uint b_off, int has_bias, uint cols, int act) {
  const uint c = get_global_id(0), r = get_global_id(1);
  if (c >= cols) return;
  const size_t i = AT(d_off, d_stride, r, c);
  float v = dst[i];
  if (has_bias) v += b[b_off + c];
  dst[i] = apply_act(v, act);
}

// The LINEAR epilogue after CLBlast computed into a padded scratch: dst = act(src + bias).
__kernel void bias_act_copy(__global const float* src, uint s_off, uint s_stride,
                            __global float* dst, uint d_off, uint d_stride, __global const float* b,
                            uint b_off, int has_bias, uint cols, int act) {
  const uint c = get_global_id(0), r = get_global_id(1);
  if (c >= cols) return;
  float v = src[AT(s_off, s_stride, r, c)];
  if (has_bias) v += b[b_off + c];
  dst[AT(d_off, d_stride, r, c)] = apply_act(v, act);
}

// SEGMENT_MEAN: dst[s,:] = mean of rows [seg[s], seg[s+1]); an empty segment gives zeros.
// One work-item per (column, segment) walks the segment's rows: columns are coalesced.
__kernel void segment_mean(__global const float* x, uint x_off, uint x_stride,
                           __global const int* seg, uint seg_off, __global float* dst, uint d_off,
                           uint d_stride, uint cols) {
  const uint c = get_global_id(0), s = get_global_id(1);
  if (c >= cols) return;
  const int begin = seg[seg_off + s], end = seg[seg_off + s + 1];
  float sum = 0.0f, comp = 0.0f;  // Kahan: segments are ~1000 rows long
  for (int r = begin; r < end; ++r) {
    const float y = x[AT(x_off, x_stride, r, c)] - comp;
    const float t = sum + y;
    comp = (t - sum) - y;
    sum = t;
  }
  dst[AT(d_off, d_stride, s, c)] = end > begin ? sum / (float)(end - begin) : 0.0f;
}
