#version 450
// GATHER_ROWS / SLICE_ROWS: dst[i,:] = table[idx[i],:]. Grid: x = column blocks, y = rows.
// An index outside [0, V) yields a zero row instead of reading out of bounds.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer Table { W_STORAGE table[]; };
layout(std430, set = 0, binding = 1) readonly buffer Idx { int idx[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Dst { float dst[]; };
layout(push_constant) uniform Push {
  uint row0;  // first row of this dispatch (dispatches are split at maxComputeWorkGroupCount)
  uint n_cols, n_table_rows;
  uint t_off, t_stride, i_off, d_off, d_stride;
} p;
void main() {
  uint row = p.row0 + gl_WorkGroupID.y;
  uint c = gl_GlobalInvocationID.x;
  if (c >= p.n_cols) return;
  int r = idx[p.i_off + row];
  float v = 0.0;
  if (r >= 0 && uint(r) < p.n_table_rows) v = w_to_f32(table[p.t_off + uint(r) * p.t_stride + c]);
  dst[p.d_off + row * p.d_stride + c] = v;
}
