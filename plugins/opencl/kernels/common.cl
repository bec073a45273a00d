// common.cl — helpers shared by every program (prepended to each program's source at build time).
// OpenCL C 1.2: no fp16 arithmetic is needed; half is only a storage type (vload_half /
// vstore_half_rte are core functions, so NVIDIA's platform without cl_khr_fp16 runs them too).
//
// Conventions of every kernel: a tensor is passed as (pointer, element offset, row stride in
// elements); rows are ne[0], columns ne[1] (ops.hpp).

#define ACT_NONE 0
#define ACT_GELU 1
#define ACT_RELU 2

// Plain (not `inline`) helpers: C99 inline semantics would leave no external definition when a
// compiler declines to inline at -O0.

float gelu_erf(float v) { return 0.5f * v * (1.0f + erf(v * 0.70710678118654752440f)); }

float apply_act(float v, int act) {
  if (act == ACT_GELU) return gelu_erf(v);
  if (act == ACT_RELU) return fmax(v, 0.0f);
  return v;
}

// bfloat16 <-> float, round to nearest even, NaN kept quiet (same rule as core/include/uce/half.hpp).
float bf16_to_f32(ushort h) { return as_float(((uint)h) << 16); }
ushort f32_to_bf16(float f) {
  uint b = as_uint(f);
  if ((b & 0x7fffffffu) > 0x7f800000u) return (ushort)((b >> 16) | 0x40u);
  b += 0x7fffu + ((b >> 16) & 1u);
  return (ushort)(b >> 16);
}

// Typed loads/stores, selected by token pasting on the dtype name (f32, f16, bf16).
#define T_f32 float
#define T_f16 half
#define T_bf16 ushort
#define LOAD_f32(p, i) ((p)[i])
#define LOAD_f16(p, i) vload_half((i), (p))
#define LOAD_bf16(p, i) bf16_to_f32((p)[i])
#define STORE_f32(p, i, v) ((p)[i] = (v))
#define STORE_f16(p, i, v) vstore_half_rte((v), (i), (p))
#define STORE_bf16(p, i, v) ((p)[i] = f32_to_bf16(v))
