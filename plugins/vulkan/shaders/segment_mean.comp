#version 450
// SEGMENT_MEAN: dst[s,:] = mean of x rows [seg[s], seg[s+1]). An empty segment gives zeros.
// Grid: x = column blocks, y = segments.
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 1) readonly buffer Seg { int seg[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Dst { float dst[]; };
layout(push_constant) uniform Push {
  uint row0, n_cols;
  uint x_off, x_stride, s_off, d_off, d_stride;
} p;
void main() {
  uint s = p.row0 + gl_WorkGroupID.y;
  uint c = gl_GlobalInvocationID.x;
  if (c >= p.n_cols) return;
  int lo = seg[p.s_off + s];
  int hi = seg[p.s_off + s + 1u];
  float acc = 0.0;
  for (int r = lo; r < hi; ++r) acc += x[p.x_off + uint(r) * p.x_stride + c];
  dst[p.d_off + s * p.d_stride + c] = hi > lo ? acc / float(hi - lo) : 0.0;
}
