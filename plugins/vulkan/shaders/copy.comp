#version 450
// COPY with dtype conversion. Source type from W_F32/W_F16/W_BF16, destination from
// D_F32/D_F16/D_BF16. f32 -> f16/bf16 rounds to nearest even. COPY_BITS32 instead copies 32-bit
// words unchanged (i32). F32_TO_F16_X8: f32 -> f16, 8 columns per invocation with 16-byte reads and
// writes (aligned rows, columns a multiple of 8: the plugin checks), for the fp16 activation copies
// in front of the cooperative-matrix GEMM, which are large. Grid: x = column blocks, y = rows.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
layout(local_size_x = 256) in;
#if defined(D_F16) || defined(D_BF16)
#define D_STORAGE uint16_t
#else
#define D_STORAGE float
#endif
#if defined(F32_TO_F16_X8)
#elif defined(COPY_BITS32)
layout(std430, set = 0, binding = 0) readonly buffer Src { uint src[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Dst { uint dst[]; };
#define CONVERT(v) (v)
#else
layout(std430, set = 0, binding = 0) readonly buffer Src { W_STORAGE src[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Dst { D_STORAGE dst[]; };
#define CONVERT(v) from_f32(w_to_f32(v))
#endif
layout(push_constant) uniform Push {
  uint row0, n_cols;
  uint s_off, s_stride, d_off, d_stride;
} p;

D_STORAGE from_f32(float v) {
#if defined(D_F16)
  return uint16_t(packHalf2x16(vec2(v, 0.0)) & 0xffffu);
#elif defined(D_BF16)
  uint bits = floatBitsToUint(v);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return uint16_t((bits >> 16) | 0x40u);  // quiet NaN
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return uint16_t(bits >> 16);
#else
  return v;
#endif
}

#ifdef F32_TO_F16_X8
layout(std430, set = 0, binding = 0) readonly buffer Src4 { vec4 src4[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Dst8 { uvec4 dst8[]; };
void main() {
  uint row = p.row0 + gl_WorkGroupID.y;
  uint c = 8u * gl_GlobalInvocationID.x;
  if (c >= p.n_cols) return;
  uint s = (p.s_off + row * p.s_stride + c) >> 2u;
  vec4 a = src4[s], b = src4[s + 1u];
  dst8[(p.d_off + row * p.d_stride + c) >> 3u] =
      uvec4(packHalf2x16(a.xy), packHalf2x16(a.zw), packHalf2x16(b.xy), packHalf2x16(b.zw));
}
#else
void main() {
  uint row = p.row0 + gl_WorkGroupID.y;
  uint c = gl_GlobalInvocationID.x;
  if (c >= p.n_cols) return;
  dst[p.d_off + row * p.d_stride + c] = CONVERT(src[p.s_off + row * p.s_stride + c]);
}
#endif
