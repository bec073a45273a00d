#version 450
// Reports, for one subgroup of 32, which (row, column) each invocation's components of the
// 16x8x16 cooperative-matrix types hold. The layout is implementation-defined; the register-softmax
// attention (attention_coopmat_regs.comp) assumes the NVIDIA MMA layout and is used only when the
// host (vk_coopmat_layout.cpp) finds exactly that here.
//   binding 0: C[16][8]  f32, element (r, c) = r * 8 + c
//   binding 1: A[16][16] f16, element (r, c) = r * 16 + c
//   binding 2: B[16][8]  f16, B[k][n] = 1 when k == n else 0
//   binding 5: out, f32: [lane * 16 + e]        component e (< 4) of C,
//                        [lane * 16 + 4 + e]    component e (< 8) of A,
//                        [512], [513]           C.length(), A.length(),
//                        [640 + r * 8 + c]      (A B + C)(r, c), stored row-major (= A(r, c) + C(r, c))
// The multiply-add also gives each type its role for the KHR rewrite (cmake/coopmat_nv_to_khr.py).
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
layout(local_size_x = 32) in;
layout(std430, set = 0, binding = 0) readonly buffer CIn { float c_in[]; };
layout(std430, set = 0, binding = 1) readonly buffer AIn { float16_t a_in[]; };
layout(std430, set = 0, binding = 2) readonly buffer BIn { float16_t b_in[]; };
layout(std430, set = 0, binding = 5) buffer Out { float outv[]; };

void main() {
  uint lane = gl_LocalInvocationID.x;
  fcoopmatNV<32, gl_ScopeSubgroup, 16u, 8u> c;
  fcoopmatNV<16, gl_ScopeSubgroup, 16u, 16u> a;
  fcoopmatNV<16, gl_ScopeSubgroup, 16u, 8u> b;
  coopMatLoadNV(c, c_in, 0u, 8u, false);
  coopMatLoadNV(a, a_in, 0u, 16u, false);
  coopMatLoadNV(b, b_in, 0u, 8u, false);
  for (int e = 0; e < c.length() && e < 4; ++e) outv[lane * 16u + uint(e)] = c[e];
  for (int e = 0; e < a.length() && e < 8; ++e) outv[lane * 16u + 4u + uint(e)] = float(a[e]);
  if (lane == 0u) {
    outv[512] = float(c.length());
    outv[513] = float(a.length());
  }
  fcoopmatNV<32, gl_ScopeSubgroup, 16u, 8u> d = coopMatMulAddNV(a, b, c);
  coopMatStoreNV(d, outv, 640u, 8u, false);
}
