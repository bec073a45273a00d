// common.glsl — shared helpers for every uce Vulkan shader.
// Tensors are bound as plain arrays; every shader receives element offsets and row strides in
// its push constants (the host binds at an offset aligned down to minStorageBufferOffsetAlignment
// and passes the remainder as an element offset).

// Storage type macros for a "weight-like" input (GATHER table, LINEAR W, COPY source/dest):
// define W_F32, W_F16 or W_BF16 before including. 16-bit types are read as raw uint16 bits so
// the storageBuffer16BitAccess + shaderInt16 features are needed (no fp16 arithmetic).
#if defined(W_F16) || defined(W_BF16) || defined(D_F16) || defined(D_BF16)
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_int16 : require  // shaderInt16: uint16_t -> uint
#endif

#if defined(W_F16) || defined(W_BF16)
#define W_STORAGE uint16_t
#else
#define W_STORAGE float
#endif

float w_to_f32(W_STORAGE v) {
#if defined(W_F16)
  return unpackHalf2x16(uint(v)).x;
#elif defined(W_BF16)
  return uintBitsToFloat(uint(v) << 16);
#else
  return v;
#endif
}

// Activations fused into LINEAR / LAYERNORM epilogues (uce_activation numbering).
#define ACT_NONE 0u
#define ACT_GELU 1u
#define ACT_RELU 2u

// erfc with fractional error < 1.2e-7 everywhere (Numerical Recipes' erfcc Chebyshev fit): GLSL
// has no erf builtin, and going through erfc keeps GELU's far negative tail relatively accurate.
float uce_erfc(float x) {
  float z = abs(x);
  float t = 1.0 / (1.0 + 0.5 * z);
  float r = t * exp(-z * z - 1.26551223 +
                    t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
                    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 +
                    t * 0.17087277)))))))));
  return x >= 0.0 ? r : 2.0 - r;
}

// gelu(v) = 0.5 v (1 + erf(v / sqrt 2)) = 0.5 v erfc(-v / sqrt 2)
float gelu_exact(float v) { return 0.5 * v * uce_erfc(-v * 0.70710678118654752); }

float apply_act(float v, uint act) {
  if (act == ACT_GELU) return gelu_exact(v);
  if (act == ACT_RELU) return max(v, 0.0);
  return v;
}
