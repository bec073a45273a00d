#version 450
// GELU / RELU / SCALE on a 2-D f32 tensor. Grid: x = column blocks, y = rows.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer Src { float src[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Dst { float dst[]; };
layout(push_constant) uniform Push {
  uint row0, n_cols, mode;  // mode: 0 gelu, 1 relu, 2 scale
  uint s_off, s_stride, d_off, d_stride;
  float scale;
} p;
void main() {
  uint row = p.row0 + gl_WorkGroupID.y;
  uint c = gl_GlobalInvocationID.x;
  if (c >= p.n_cols) return;
  float v = src[p.s_off + row * p.s_stride + c];
  if (p.mode == 0u) v = gelu_exact(v);
  else if (p.mode == 1u) v = max(v, 0.0);
  else v = v * p.scale;
  dst[p.d_off + row * p.d_stride + c] = v;
}
