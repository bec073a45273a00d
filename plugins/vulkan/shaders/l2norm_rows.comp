#version 450
// L2NORM_ROWS: dst[i,:] = x[i,:] / max(||x[i,:]||_2, eps). One workgroup per row (y).
#extension GL_GOOGLE_include_directive : require
#define ROW_WG 256u
layout(local_size_x = 256) in;
#include "row_reduce.glsl"
layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Dst { float dst[]; };
layout(push_constant) uniform Push {
  uint row0, n_cols;
  uint x_off, x_stride, d_off, d_stride;
  float eps;
} p;
void main() {
  uint row = p.row0 + gl_WorkGroupID.y;
  uint xb = p.x_off + row * p.x_stride;
  float ss = 0.0;
  for (uint c = gl_LocalInvocationID.x; c < p.n_cols; c += ROW_WG) {
    float v = x[xb + c];
    ss += v * v;
  }
  float inv = 1.0 / max(sqrt(workgroup_sum(ss)), p.eps);
  uint db = p.d_off + row * p.d_stride;
  for (uint c = gl_LocalInvocationID.x; c < p.n_cols; c += ROW_WG) dst[db + c] = x[xb + c] * inv;
}
