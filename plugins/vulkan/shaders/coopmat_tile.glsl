// coopmat_tile.glsl — the register tile of the cooperative-matrix GEMMs (linear_coopmat*_nv.comp):
// each subgroup owns 64 rows x (TN * CM_N) outputs as 4 x TN accumulator matrices.
// The accumulators and A fragments are NAMED variables (c00..c3<TN-1>, a0..a3), not arrays: the
// H100's driver kept an array of cooperative matrices in local memory (256 bytes per invocation =
// exactly the 16 f32 accumulators), which held every multiply-add to ~32 TFLOP/s; named, they
// stay in registers (3x the GEMM rate). glslc's optimizer leaves modules with the NV extension
// alone, so loops over arrays reach the driver as loops.
// The including shader defines: CM_M (16), CM_N, CM_K, TN (a plain integer, 2 or 4), ACC_BITS;
// shared arrays As, Bs (tiles) and Cs (per-subgroup scratch of CM_M x CM_N floats); and
//   A_OFF(i, kk), B_OFF(j, kk), TILE_PITCH: offset of A fragment i / B fragment j at k step kk in
//   As / Bs, and their row pitch, in elements of As/Bs (B is loaded column-major: W rows).
// The epilogue reads m0, n0, sm, sn, lane, cbase, p (push constants), bias[] and dst[]; an
// including shader may define OUT_SCALE(r, o), a factor applied to each sum before the bias.
#ifndef OUT_SCALE
#define OUT_SCALE(r, o) 1.0
#endif
#define ACC_T fcoopmatNV<ACC_BITS, gl_ScopeSubgroup, CM_M, CM_N>
#define A_T fcoopmatNV<16, gl_ScopeSubgroup, CM_M, CM_K>
#define B_T fcoopmatNV<16, gl_ScopeSubgroup, CM_K, CM_N>
#define CAT3(a, b, c) a##b##c
#if TN == 4
#define EACH_J(X, i) X(i, 0) X(i, 1) X(i, 2) X(i, 3)
#elif TN == 2
#define EACH_J(X, i) X(i, 0) X(i, 1)
#else
#error TN must be 2 (CM_N 16) or 4 (CM_N 8)
#endif
#define EACH_TILE(X) EACH_J(X, 0) EACH_J(X, 1) EACH_J(X, 2) EACH_J(X, 3)

#define DECLARE_ACC(i, j) ACC_T CAT3(c, i, j) = ACC_T(0.0);
#define DECLARE_ACCUMULATORS EACH_TILE(DECLARE_ACC)

// One k step of CM_K: 4 A fragments, TN B fragments, 4 x TN multiply-adds.
#define LOAD_B(i, j) B_T b##j; coopMatLoadNV(b##j, Bs, B_OFF(uint(j), kk), TILE_PITCH, true);
#define MMA(i, j) CAT3(c, i, j) = coopMatMulAddNV(a##i, b##j, CAT3(c, i, j));
#define MMA_STEP(kk)                                              \
  {                                                               \
    A_T a0, a1, a2, a3;                                           \
    coopMatLoadNV(a0, As, A_OFF(0u, kk), TILE_PITCH, false);      \
    coopMatLoadNV(a1, As, A_OFF(1u, kk), TILE_PITCH, false);      \
    coopMatLoadNV(a2, As, A_OFF(2u, kk), TILE_PITCH, false);      \
    coopMatLoadNV(a3, As, A_OFF(3u, kk), TILE_PITCH, false);      \
    EACH_J(LOAD_B, 0)                                             \
    EACH_TILE(MMA)                                                \
  }

#ifdef ACC_REGS
// Epilogue straight from the registers: bias + activation, bounds. Only for 16x8 f32 accumulators
// whose layout the plugin has probed on the device (vk_coopmat_layout.cpp): component e of lane L
// holds row L/4 + 8*(e/2), column 2*(L%4) + e%2.
#if TN != 4 || ACC_BITS != 32  // TN 4 = CM_N 8
#error ACC_REGS needs 16x8 f32 accumulators
#endif
// Components e and e + 1 of a lane are two adjacent outputs of one row.
#define STORE_PAIR(r, o, acc, e, b0, b1)                                                                     \
  if ((r) < p.n_rows && (o) < p.n_out) dst[p.d_off + (r) * p.d_stride + (o)] = apply_act(acc[e] * OUT_SCALE(r, o) + b0, p.act);   \
  if ((r) < p.n_rows && (o) + 1u < p.n_out) dst[p.d_off + (r) * p.d_stride + (o) + 1u] = apply_act(acc[e + 1] * OUT_SCALE(r, (o) + 1u) + b1, p.act);
#define STORE_TILE(i, j)                                                                  \
  {                                                                                       \
    uint r = m0 + sm + uint(i) * CM_M + (lane >> 2u), o = n0 + sn + uint(j) * CM_N + 2u * (lane & 3u); \
    float b0 = 0.0, b1 = 0.0;                                                             \
    if (p.has_bias != 0u && o < p.n_out) b0 = bias[p.b_off + o];                          \
    if (p.has_bias != 0u && o + 1u < p.n_out) b1 = bias[p.b_off + o + 1u];                \
    STORE_PAIR(r, o, CAT3(c, i, j), 0, b0, b1)                                            \
    STORE_PAIR(r + 8u, o, CAT3(c, i, j), 2, b0, b1)                                       \
  }
#else
// Epilogue, one matrix at a time through this subgroup's scratch: bias + activation, bounds.
#define STORE_TILE(i, j)                                                                               \
  {                                                                                                    \
    fcoopmatNV<32, gl_ScopeSubgroup, CM_M, CM_N> c32 = fcoopmatNV<32, gl_ScopeSubgroup, CM_M, CM_N>(CAT3(c, i, j)); \
    coopMatStoreNV(c32, Cs, cbase, CM_N, false);                                                       \
    subgroupMemoryBarrierShared();                                                                     \
    subgroupBarrier();                                                                                 \
    for (uint e = lane; e < CM_M * CM_N; e += 32u) {                                                   \
      uint r = m0 + sm + uint(i) * CM_M + e / CM_N, o = n0 + sn + uint(j) * CM_N + e % CM_N;           \
      if (r < p.n_rows && o < p.n_out) {                                                               \
        float bo = p.has_bias != 0u ? bias[p.b_off + o] : 0.0;                                         \
        dst[p.d_off + r * p.d_stride + o] = apply_act(Cs[cbase + e] * OUT_SCALE(r, o) + bo, p.act);    \
      }                                                                                                \
    }                                                                                                  \
    subgroupMemoryBarrierShared();                                                                     \
    subgroupBarrier();                                                                                 \
  }
#endif
#define STORE_ACCUMULATORS EACH_TILE(STORE_TILE)
