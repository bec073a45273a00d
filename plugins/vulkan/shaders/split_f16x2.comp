#version 450
// split_f16x2.comp — an f32 matrix as two fp16 matrices and a power-of-two scale per row, the
// input form of the fp32 GEMM on fp16 tensor cores (linear_coopmat_split_nv.comp, "3xFP16").
// Row r is multiplied by 2^s so that its largest |value| lies in [2^13, 2^14): fp16's range then
// holds every value and its residual; hi = v truncated to 11 significant bits, lo = fp16(v - hi)
// (v - hi is exact in f32), so hi + lo keeps ~22 significant bits (the f32 value to 2^-22 relative, or 2^-38 of the row's
// largest value for tiny ones); scale[r] = 2^-s undoes the scaling in the GEMM epilogue.
// Non-finite rows keep scale 1 and stay non-finite.
// Output (one buffer): hi rows [0, n_rows) then lo rows [n_rows, 2 n_rows), pitch n_cols halfs, at
// h_off; the n_rows scales at s_off of binding 2 (the same buffer, as floats).
// One workgroup per row (y).
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#define ROW_WG 256u
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer X { float x[]; };
layout(std430, set = 0, binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(std430, set = 0, binding = 1) writeonly buffer H { float16_t h[]; };
layout(std430, set = 0, binding = 1) writeonly buffer H4 { uvec2 h4[]; };  // 4 halfs
layout(std430, set = 0, binding = 2) writeonly buffer S { float scale[]; };
layout(push_constant) uniform Push {
  uint row0, n_cols, n_rows;
  uint x_off, x_stride, h_off, s_off;
  uint by4;  // 1: x_off, x_stride, h_off and n_cols are multiples of 4 (16-byte reads, 8-byte writes)
} p;
shared float red[ROW_WG];

// hi: v truncated to fp16's 11 significant bits by a mask, so that v - hi is exact and visibly not
// zero to the compiler (as fp16(v) - v it was folded away on the H100: lo came out 0).
vec4 hi_part(vec4 v) { return uintBitsToFloat(floatBitsToUint(v) & 0xffffe000u); }

void main() {
  uint t = gl_LocalInvocationID.x;
  uint row = p.row0 + gl_WorkGroupID.y;
  uint xb = p.x_off + row * p.x_stride;
  float m = 0.0;
  if (p.by4 != 0u) {
    for (uint c = 4u * t; c < p.n_cols; c += 4u * ROW_WG) {
      vec4 a = abs(x4[(xb + c) >> 2u]);
      m = max(m, max(max(a.x, a.y), max(a.z, a.w)));
    }
  } else {
    for (uint c = t; c < p.n_cols; c += ROW_WG) m = max(m, abs(x[xb + c]));
  }
  red[t] = m;
  barrier();
  for (uint s = ROW_WG / 2u; s > 0u; s >>= 1u) {
    if (t < s) red[t] = max(red[t], red[t + s]);
    barrier();
  }
  float mx = red[0];
  int shift = 0;
  if (mx > 0.0 && mx <= 3.0e38) {
    int e;
    frexp(mx, e);                   // mx < 2^e
    shift = clamp(14 - e, -100, 100);  // the inverse 2^-shift stays a normal f32
  }
  float up = ldexp(1.0, shift);
  uint hb = p.h_off + row * p.n_cols, lb = p.h_off + (p.n_rows + row) * p.n_cols;
  if (p.by4 != 0u) {
    for (uint c = 4u * t; c < p.n_cols; c += 4u * ROW_WG) {
      vec4 v = x4[(xb + c) >> 2u] * up, hi = hi_part(v), lo = v - hi;
      h4[(hb + c) >> 2u] = uvec2(packHalf2x16(hi.xy), packHalf2x16(hi.zw));
      h4[(lb + c) >> 2u] = uvec2(packHalf2x16(lo.xy), packHalf2x16(lo.zw));
    }
  } else {
    for (uint c = t; c < p.n_cols; c += ROW_WG) {
      float v = x[xb + c] * up, hi = hi_part(vec4(v)).x;
      h[hb + c] = float16_t(hi);
      h[lb + c] = float16_t(v - hi);
    }
  }
  if (t == 0u) scale[p.s_off + row] = ldexp(1.0, -shift);
}
