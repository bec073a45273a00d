// row_reduce.glsl — workgroup-wide sum over ROW_WG threads through shared memory.
// Every invocation must call it (it contains barriers); every invocation gets the total.
shared float red_scratch[ROW_WG];
float workgroup_sum(float v) {
  uint t = gl_LocalInvocationID.x;
  red_scratch[t] = v;
  barrier();
  for (uint s = ROW_WG / 2u; s > 0u; s >>= 1u) {
    if (t < s) red_scratch[t] += red_scratch[t + s];
    barrier();
  }
  float total = red_scratch[0];
  barrier();  // red_scratch is reused by the next call
  return total;
}
