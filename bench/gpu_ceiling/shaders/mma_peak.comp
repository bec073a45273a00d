#version 450
// The tensor-core ceiling seen through Vulkan cooperative matrices: how many multiply-adds per
// second a subgroup issues when nothing else limits it (PURE), and when each k step first loads
// its fragments from shared memory the way the plugin's GEMM does (SMEM). Timing kernel; the
// host (vk_peak.cpp) checks the sums, so a driver that dropped multiply-adds would be caught.
// Macros:
//   CM_N      8 or 16 (the 16 x CM_N x 16 shape), ACC_BITS 32 or 16 (accumulator type)
//   TNB       B fragments per k step (2, 4 or 8). PURE: chains = 4 * TNB independent accumulators
//             fed by fixed fragments. SMEM: per k step 4 A fragments (16x16) + TNB B fragments
//             (16 x CM_N) loaded from shared memory, then 4 * TNB multiply-adds: TNB 4 with CM_N 8
//             is the plugin's 64 x 32 subgroup tile, TNB 8 a 64 x 64 one.
//   SMEM      load fragments from shared memory every k step (else PURE)
// Every input element is 1.0, so after `iters` steps accumulator j holds j + 16 * iters in
// every element (K = 16 ones per multiply-add). Accumulators are named variables (not an array:
// the H100's driver keeps arrays of cooperative matrices in local memory).
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
layout(local_size_x_id = 0) in;  // the host sets 32 x subgroups per workgroup
layout(std430, set = 0, binding = 0) readonly buffer In { uvec4 in8[]; };  // fp16 ones
#if ACC_BITS == 32
#define ACC_SCALAR float
#else
#define ACC_SCALAR float16_t
#endif
layout(std430, set = 0, binding = 1) writeonly buffer Out { ACC_SCALAR outv[]; };
// period (2): the k steps of the shared tile are visited in turn, a count the compiler cannot
// know, so it cannot keep the fragments of every step in registers instead of loading them.
layout(push_constant) uniform Push { uint iters; float a, b; uint period; } p;

#define A_T fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#define B_T fcoopmatNV<16, gl_ScopeSubgroup, 16, CM_N>
#define C_T fcoopmatNV<ACC_BITS, gl_ScopeSubgroup, 16, CM_N>

// Shared tile, read by every subgroup of the workgroup: 64 A rows and 64 B rows of 32 halfs
// (two k steps), pitch 5 uvec4 (40 halfs) as in the plugin's GEMM.
#define PV 5u
shared uvec4 As[64u * PV];
shared uvec4 Bs[64u * PV];

#if TNB == 2
#define EACH_J(X, i) X(i, 0) X(i, 1)
#elif TNB == 4
#define EACH_J(X, i) X(i, 0) X(i, 1) X(i, 2) X(i, 3)
#elif TNB == 8
#define EACH_J(X, i) X(i, 0) X(i, 1) X(i, 2) X(i, 3) X(i, 4) X(i, 5) X(i, 6) X(i, 7)
#else
#error TNB must be 2, 4 or 8
#endif
#define EACH_TILE(X) EACH_J(X, 0) EACH_J(X, 1) EACH_J(X, 2) EACH_J(X, 3)
#define CAT3(a, b, c) a##b##c
// Accumulator (i, j) starts at its chain number i * TNB + j, so no two chains are the same.
#define DECLARE_ACC(i, j) C_T CAT3(c, i, j) = C_T(ACC_SCALAR(i * TNB + j));
#define MMA(i, j) CAT3(c, i, j) = coopMatMulAddNV(a##i, b##j, CAT3(c, i, j));
#define LOAD_B_FIXED(i, j) B_T b##j; coopMatLoadNV(b##j, in8, 0u, 2u, true);
#define LOAD_B_SMEM(i, j) B_T b##j; coopMatLoadNV(b##j, Bs, (uint(j) * CM_N) * PV + kk, PV, true);
#define STORE_ACC(i, j) coopMatStoreNV(CAT3(c, i, j), outv, base + uint(i * TNB + j) * 16u * CM_N, CM_N, false);

void main() {
  uint t = gl_LocalInvocationID.x;
  for (uint s = t; s < 64u * PV; s += gl_WorkGroupSize.x) {
    As[s] = in8[0];
    Bs[s] = in8[0];
  }
  barrier();
  EACH_TILE(DECLARE_ACC)
#ifdef SMEM
  for (uint it = 0u; it < p.iters; ++it) {
    uint kk = (it % p.period) * 2u;  // uvec4 offset of this k step (16 halfs = 2 uvec4)
    A_T a0, a1, a2, a3;
    coopMatLoadNV(a0, As, 0u * PV + kk, PV, false);
    coopMatLoadNV(a1, As, 16u * PV + kk, PV, false);
    coopMatLoadNV(a2, As, 32u * PV + kk, PV, false);
    coopMatLoadNV(a3, As, 48u * PV + kk, PV, false);
    EACH_J(LOAD_B_SMEM, 0)
    EACH_TILE(MMA)
  }
#else
  A_T a0, a1, a2, a3;
  coopMatLoadNV(a0, in8, 0u, 2u, false);  // 16 x 16 ones: row pitch 2 uvec4
  a1 = a0;
  a2 = a0;
  a3 = a0;
  EACH_J(LOAD_B_FIXED, 0)
  for (uint it = 0u; it < p.iters; ++it) {
    EACH_TILE(MMA)
  }
#endif
  // Every subgroup stores (so none of the work is dead), into one of 256 slots: subgroups that
  // share a slot write the same values.
  uint slot = (gl_WorkGroupID.x * (gl_WorkGroupSize.x / 32u) + gl_SubgroupID) % 256u;
  uint base = slot * (4u * TNB * 16u * CM_N);
  EACH_TILE(STORE_ACC)
}
