// rownorm.cl — one work-group of ROW_WG work-items per row (ROW_WG: a power of two, set by the
// host through the build options). Each work-item owns the columns c = lid, lid + ROW_WG, ...
// and writes only those, after the reductions' barriers, so dst may alias x (in place).

#ifndef ROW_WG
#define ROW_WG 128
#endif

#define AT(off, stride, r, c) ((size_t)(off) + (size_t)(r) * (size_t)(stride) + (size_t)(c))

// Sum of v over the work-group (tree in local memory; every work-item gets the total).
float wg_sum(float v, __local float* red) {
  const uint l = get_local_id(0);
  red[l] = v;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint s = ROW_WG / 2; s > 0; s >>= 1) {
    if (l < s) red[l] += red[l + s];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  const float total = red[0];
  barrier(CLK_LOCAL_MEM_FENCE);  // red is reused by the next call
  return total;
}

// L2NORM_ROWS: dst[i,:] = x[i,:] / max(||x[i,:]||, eps)
__kernel __attribute__((reqd_work_group_size(ROW_WG, 1, 1)))
void l2norm_rows(__global const float* x, uint x_off, uint x_stride, __global float* dst,
                 uint d_off, uint d_stride, uint cols, float eps) {
  __local float red[ROW_WG];
  const uint r = get_group_id(0), l = get_local_id(0);
  float ss = 0.0f;
  for (uint c = l; c < cols; c += ROW_WG) {
    const float v = x[AT(x_off, x_stride, r, c)];
    ss += v * v;
  }
  const float inv = 1.0f / fmax(sqrt(wg_sum(ss, red)), eps);
  for (uint c = l; c < cols; c += ROW_WG)
    dst[AT(d_off, d_stride, r, c)] = x[AT(x_off, x_stride, r, c)] * inv;
}

// LAYERNORM: v = x + residual; y = (v - mean) / sqrt(var + eps) * gamma + beta (biased var);
// dst = act(y) * scale. Two passes over v (mean, then centred squares) for f32 accuracy.
__kernel __attribute__((reqd_work_group_size(ROW_WG, 1, 1)))
void layernorm(__global const float* x, uint x_off, uint x_stride,
               __global const float* gamma, uint g_off, int has_gamma,
               __global const float* beta, uint b_off, int has_beta,
               __global const float* res, uint r_off, uint r_stride, int has_res,
               __global float* dst, uint d_off, uint d_stride, uint cols, float eps, int act,
               float scale) {
  __local float red[ROW_WG];
  const uint r = get_group_id(0), l = get_local_id(0);
#define V(c) (x[AT(x_off, x_stride, r, c)] + (has_res ? res[AT(r_off, r_stride, r, c)] : 0.0f))
  float s = 0.0f;
  for (uint c = l; c < cols; c += ROW_WG) s += V(c);
  const float mean = wg_sum(s, red) / (float)cols;
  float q = 0.0f;
  for (uint c = l; c < cols; c += ROW_WG) {
    const float dv = V(c) - mean;
    q += dv * dv;
  }
  const float rstd = 1.0f / sqrt(wg_sum(q, red) / (float)cols + eps);
  for (uint c = l; c < cols; c += ROW_WG) {
    float y = (V(c) - mean) * rstd;
    if (has_gamma) y *= gamma[g_off + c];
    if (has_beta) y += beta[b_off + c];
    dst[AT(d_off, d_stride, r, c)] = apply_act(y, act) * scale;
  }
#undef V
}
