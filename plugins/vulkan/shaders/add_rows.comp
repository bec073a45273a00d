#version 450
// ADD (same shape or b broadcast over rows) and ADD_ROWS_PE (b row chosen by pos[i]):
// dst[i,c] = a[i,c] + b[brow(i), c].  Grid: x = column blocks, y = rows.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer A { float a[]; };
layout(std430, set = 0, binding = 1) readonly buffer B { float b[]; };
layout(std430, set = 0, binding = 2) readonly buffer Pos { int pos[]; };
layout(std430, set = 0, binding = 3) writeonly buffer Dst { float dst[]; };
layout(push_constant) uniform Push {
  uint row0, n_cols, mode;  // mode: 0 same row, 1 broadcast row 0, 2 row pos[i]
  uint n_b_rows;
  uint a_off, a_stride, b_off, b_stride, p_off, d_off, d_stride;
} p;
void main() {
  uint row = p.row0 + gl_WorkGroupID.y;
  uint c = gl_GlobalInvocationID.x;
  if (c >= p.n_cols) return;
  uint brow = row;
  bool valid = true;
  if (p.mode == 1u) {
    brow = 0u;
  } else if (p.mode == 2u) {
    int r = pos[p.p_off + row];
    valid = r >= 0 && uint(r) < p.n_b_rows;  // out of range: caller's bug; add nothing
    brow = valid ? uint(r) : 0u;
  }
  float v = a[p.a_off + row * p.a_stride + c];
  if (valid) v += b[p.b_off + brow * p.b_stride + c];
  dst[p.d_off + row * p.d_stride + c] = v;
}
