#version 450
// LAYERNORM with fused residual, activation and post-scale:
//   v = x (+ residual); y = (v - mean) / sqrt(var + eps) * gamma + beta; dst = act(y) * scale
// Biased variance, computed in two passes (mean first) for accuracy. One workgroup per row (y).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#define ROW_WG 256u
layout(local_size_x = 256) in;
#include "row_reduce.glsl"
layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) readonly buffer G { float gamma[]; };
layout(std430, set = 0, binding = 2) readonly buffer B { float beta[]; };
layout(std430, set = 0, binding = 3) readonly buffer R { float res[]; };
layout(std430, set = 0, binding = 4) writeonly buffer Dst { float dst[]; };
layout(push_constant) uniform Push {
  uint row0, n_cols, has_res, act;
  uint x_off, x_stride, g_off, b_off, r_off, r_stride, d_off, d_stride;
  float eps, scale;
} p;
float load_v(uint row, uint c) {
  float v = x[p.x_off + row * p.x_stride + c];
  if (p.has_res != 0u) v += res[p.r_off + row * p.r_stride + c];
  return v;
}
void main() {
  uint row = p.row0 + gl_WorkGroupID.y;
  uint t = gl_LocalInvocationID.x;
  float s = 0.0;
  for (uint c = t; c < p.n_cols; c += ROW_WG) s += load_v(row, c);
  float mean = workgroup_sum(s) / float(p.n_cols);
  float q = 0.0;
  for (uint c = t; c < p.n_cols; c += ROW_WG) {
    float dv = load_v(row, c) - mean;
    q += dv * dv;
  }
  float rstd = inversesqrt(workgroup_sum(q) / float(p.n_cols) + p.eps);
  uint db = p.d_off + row * p.d_stride;
  for (uint c = t; c < p.n_cols; c += ROW_WG) {
    float y = (load_v(row, c) - mean) * rstd * gamma[p.g_off + c] + beta[p.b_off + c];
    dst[db + c] = apply_act(y, p.act) * p.scale;
  }
}
