#version 450
// ATTENTION on tensor cores with the softmax in registers (16x8x16 cooperative matrices, fp16
// inputs, f32 accumulation), for head dim <= 64. Same semantics and bindings as
// attention_coopmat_nv.comp:
//   logit(i,j) = (q_i . k_j) * scale + key_bias[j];  j masked (key_mask[j] != 0) or in another
//   sequence -> excluded; a query with no admissible key gets zeros.
//
// Why this kernel: attention_coopmat_nv.comp stores every S tile to shared memory for the softmax,
// reads P back as an A fragment, stores P V to shared memory and folds it into O row by row
// (NV/KHR cooperative matrices have no row operations). Here S, P and O never leave registers:
// the shader indexes the invocation's own components of each matrix, which is only meaningful
// when it knows which (row, column) a component holds. It assumes the layout of the 16x8x16 MMA
// fragments of NVIDIA GPUs:
//   accumulator 16x8 (f32), component e of lane L: row L/4 + 8*(e/2),        column 2*(L%4) + e%2
//   A 16x16 (f16),          component e of lane L: row L/4 + 8*((e/2)%2), column 2*(L%4) + e%2 + 8*(e/4)
//                           (A_ROWS_OUTER: row L/4 + 8*(e/4), column 2*(L%4) + e%2 + 8*((e/2)%2),
//                           the order of the H100's Vulkan driver)
// and the plugin uses this kernel only after coopmat_layout_probe.comp has shown, on the device
// at hand, that the accumulator and one of the two A orders hold (vk_coopmat_layout.cpp). With
// that layout the S tiles of columns 16k..16k+7 and 16k+8..16k+15 are, component for component,
// the A fragment of P for keys 16k..16k+15, and each lane's components of S and O belong to two
// rows (L/4, L/4+8) whose other components sit in the 4 lanes of its quad: row maxima and sums
// are 2 shuffles.
//
// A workgroup = 4 subgroups of 32 (subgroup size 32) = 64 x ROW_TILES queries of one head; each
// subgroup owns ROW_TILES row tiles of 16 queries (2: every K/V fragment loaded from shared memory
// feeds two multiply-adds). A subgroup skips the blocks that lie outside all of its rows'
// sequences (a workgroup across a sequence boundary streams both sequences' keys). Per block of
// 64 keys: K and V (fp16) -> shared memory once for all subgroups; per row tile, S = Q K^T (8
// accumulators, Q fragments in registers), online softmax in the log2 domain (log2(e) folded
// into the Q scale and the key bias), P built in registers, O += P V (8 accumulators, rows
// rescaled in registers). Grid: x = heads, y = ceil(Q / (64 x ROW_TILES)).
#extension GL_GOOGLE_include_directive : require
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_control_flow_attributes : require
#ifndef ROW_TILES
#define ROW_TILES 1
#endif
#define HD 64u
#define BKEY 64u  // keys per block: 8 column tiles of 8 for S, 4 key chunks of 16 for P V
#define NSG 4u
#define SGQ (16u * ROW_TILES)  // queries per subgroup
#define BQ (SGQ * NSG)
#define KP (HD + 8u)   // K/V pitch in halfs (144 bytes: 16-byte aligned rows)
#define KPV (KP / 8u)  // the same in uvec4
#define QP (HD + 8u)   // Q staging pitch in halfs
#define HALF_D (HD / 2u)
#define ACC_T fcoopmatNV<32, gl_ScopeSubgroup, 16u, 8u>
#define A_T fcoopmatNV<16, gl_ScopeSubgroup, 16u, 16u>
#define B_T fcoopmatNV<16, gl_ScopeSubgroup, 16u, 8u>
#define EACH_N(X, a) X(0, a) X(1, a) X(2, a) X(3, a) X(4, a) X(5, a) X(6, a) X(7, a)
// Every per-row-tile statement, once per row tile (A = the subgroup's rows 0-15, B = 16-31).
#define ROW0_A 0u
#define ROW0_B 16u
#if ROW_TILES == 2
#define EACH_R(X) X(A) X(B)
#elif ROW_TILES == 1
#define EACH_R(X) X(A)
#else
#error ROW_TILES must be 1 or 2
#endif
// First component (of a pair) of the A fragment holding row g / g+8, key columns 2*(L%4) (LO)
// or 8 + 2*(L%4) (HI) of a 16-key chunk.
#ifdef A_ROWS_OUTER
#define A_G_LO 0
#define A_G_HI 2
#define A_G8_LO 4
#define A_G8_HI 6
#else
#define A_G_LO 0
#define A_G8_LO 2
#define A_G_HI 4
#define A_G8_HI 6
#endif
layout(local_size_x = 128) in;
layout(std430, set = 0, binding = 0) readonly buffer QKV { float qkv[]; };
layout(std430, set = 0, binding = 0) readonly buffer QKV8 { uvec4 qkv8[]; };  // fp16 qkv (flag 16), 8 halfs
#include "attention_io.glsl"

const float NEG = -1.0e38;
const float NEG_HALF = -0.5e38;
const float LOG2E = 1.4426950408889634;

shared uvec4 Ks[BKEY * KPV];  // [key][8-half chunk]
shared uvec4 Vs[BKEY * KPV];
shared float16_t Qs[BQ * QP];  // Q staging (once)
shared float key_add[BKEY];    // log2(e) * key_bias, or NEG when masked / past the range
shared uint sh_lo[BQ], sh_hi[BQ];
shared uint wg_lo, wg_hi;
#include "attention_cm_blocks.glsl"


void main() {
  uint t = gl_LocalInvocationID.x;
  uint sg = gl_SubgroupID, lane = gl_SubgroupInvocationID;
  uint h = gl_WorkGroupID.x;
  uint qbase = p.q0 + gl_WorkGroupID.y * BQ;
  uint hd = p.hd;
  uint q_col = h * hd, k_col = p.d + h * hd, v_col = 2u * p.d + h * hd;

  resolve_key_ranges(t, qbase);

  // Q (scaled by scale * log2 e) -> fp16 staging -> fragments kept in registers. For the staging,
  // lane pair (2r, 2r+1) writes the subgroup's query rows r, r + 16, ..., each half of the columns.
  float qscale = p.scale * LOG2E;
  for (uint r = lane >> 1u; r < SGQ; r += 16u) {
    uint half_sel = lane & 1u;
    uint qi = qbase + sg * SGQ + r;
    uint row = qi;
    if (qi < p.n_q && (p.flags & 4u) != 0u) row = uint(query_rows[p.qr_off + qi]);
    uint qb = (sg * SGQ + r) * QP;
    if ((p.flags & 16u) != 0u) {
      for (uint c = half_sel * HALF_D; c < half_sel * HALF_D + HALF_D; c += 8u) {
        uvec4 w = (qi < p.n_q && c < hd) ? qkv8[(p.qkv_off + row * p.qkv_stride + q_col + c) >> 3u] : uvec4(0u);
        [[unroll]] for (uint e = 0u; e < 4u; ++e) {
          vec2 v = unpackHalf2x16(w[e]) * qscale;
          Qs[qb + c + 2u * e] = float16_t(v.x);
          Qs[qb + c + 2u * e + 1u] = float16_t(v.y);
        }
      }
    } else {
      for (uint c = half_sel * HALF_D; c < half_sel * HALF_D + HALF_D; ++c) {
        float v = (qi < p.n_q && c < hd) ? qkv[p.qkv_off + row * p.qkv_stride + q_col + c] * qscale : 0.0;
        Qs[qb + c] = float16_t(v);
      }
    }
  }
  subgroupMemoryBarrierShared();
  subgroupBarrier();

  // Per row tile R (rows R0 + g and R0 + g + 8 of the subgroup for this lane): four Q fragments
  // (named, not arrays: the H100's driver keeps arrays of cooperative matrices in local memory),
  // the two rows' key ranges, running maxima (log2 units), this lane's part of each row's
  // denominator (the quad's parts are summed once at the end: every rescale factor is the same
  // across the quad) and the output accumulators (8 column tiles of the head dims).
  uint g = lane >> 2u, cpair = 2u * (lane & 3u);
  uint sg_lo = 0xffffffffu, sg_hi = 0u;  // union of the subgroup's rows' key ranges
  for (uint i = 0u; i < SGQ; ++i) {
    uint lo_i = sh_lo[sg * SGQ + i], hi_i = sh_hi[sg * SGQ + i];
    if (hi_i > lo_i) { sg_lo = min(sg_lo, lo_i); sg_hi = max(sg_hi, hi_i); }
  }
#define ROW_TILE_STATE(R)                                                          \
  uint R##row0 = sg * SGQ + ROW0_##R;                                              \
  A_T qa##R##0, qa##R##1, qa##R##2, qa##R##3;                                      \
  coopMatLoadNV(qa##R##0, Qs, R##row0 * QP + 0u, QP, false);                       \
  coopMatLoadNV(qa##R##1, Qs, R##row0 * QP + 16u, QP, false);                      \
  coopMatLoadNV(qa##R##2, Qs, R##row0 * QP + 32u, QP, false);                      \
  coopMatLoadNV(qa##R##3, Qs, R##row0 * QP + 48u, QP, false);                      \
  uint lo##R##0 = sh_lo[R##row0 + g], hi##R##0 = sh_hi[R##row0 + g];               \
  uint lo##R##1 = sh_lo[R##row0 + g + 8u], hi##R##1 = sh_hi[R##row0 + g + 8u];     \
  float m##R##0 = NEG, m##R##1 = NEG, l##R##0 = 0.0, l##R##1 = 0.0;                \
  ACC_T o##R##0 = ACC_T(0.0), o##R##1 = ACC_T(0.0), o##R##2 = ACC_T(0.0), o##R##3 = ACC_T(0.0); \
  ACC_T o##R##4 = ACC_T(0.0), o##R##5 = ACC_T(0.0), o##R##6 = ACC_T(0.0), o##R##7 = ACC_T(0.0);
  EACH_R(ROW_TILE_STATE)
  barrier();  // wg_lo/wg_hi visible
  uint lo = wg_lo, hi = wg_hi;

  for (uint kb = lo; kb < hi; kb += BKEY) {
    stage_key_block(t, kb, hi, k_col, v_col, LOG2E);
    barrier();

    if (kb < sg_hi && kb + BKEY > sg_lo) {  // subgroup-uniform
      // S = Q K^T (16 x 64 per row tile): one accumulator per 8-column tile, head-dim chunk
      // outermost so the tiles' multiply-adds are independent. B = K^T: column-major K rows;
      // each K fragment feeds every row tile.
#define DECL_S(R) ACC_T s##R##0 = ACC_T(0.0), s##R##1 = ACC_T(0.0), s##R##2 = ACC_T(0.0), s##R##3 = ACC_T(0.0), \
                        s##R##4 = ACC_T(0.0), s##R##5 = ACC_T(0.0), s##R##6 = ACC_T(0.0), s##R##7 = ACC_T(0.0);
      EACH_R(DECL_S)
#if ROW_TILES == 2
#define QK_ROWS(n, kk) sA##n = coopMatMulAddNV(qaA##kk, kbm, sA##n); sB##n = coopMatMulAddNV(qaB##kk, kbm, sB##n);
#define PV_ROWS(n, kk) oA##n = coopMatMulAddNV(paA##kk, vb, oA##n); oB##n = coopMatMulAddNV(paB##kk, vb, oB##n);
#else
#define QK_ROWS(n, kk) sA##n = coopMatMulAddNV(qaA##kk, kbm, sA##n);
#define PV_ROWS(n, kk) oA##n = coopMatMulAddNV(paA##kk, vb, oA##n);
#endif
#define QK(n, kk)                                                            \
  {                                                                          \
    B_T kbm;                                                                 \
    coopMatLoadNV(kbm, Ks, uint(n) * 8u * KPV + uint(kk) * 2u, KPV, true);   \
    QK_ROWS(n, kk)                                                           \
  }
      EACH_N(QK, 0) EACH_N(QK, 1) EACH_N(QK, 2) EACH_N(QK, 3)

      // Logits of this lane's components: + key_add, NEG when the key is outside the row's
      // sequence. Component e of tile n: key column 8n + cpair + e%2, row g (e < 2) or g + 8.
#define LOGITS(n, R)                                                                        \
  {                                                                                         \
    uint j = uint(n) * 8u + cpair, key = kb + j;                                            \
    float a0 = key_add[j], a1 = key_add[j + 1u];                                            \
    s##R##n[0] = (a0 > NEG_HALF && key >= lo##R##0 && key < hi##R##0) ? s##R##n[0] + a0 : NEG;          \
    s##R##n[1] = (a1 > NEG_HALF && key + 1u >= lo##R##0 && key + 1u < hi##R##0) ? s##R##n[1] + a1 : NEG; \
    s##R##n[2] = (a0 > NEG_HALF && key >= lo##R##1 && key < hi##R##1) ? s##R##n[2] + a0 : NEG;          \
    s##R##n[3] = (a1 > NEG_HALF && key + 1u >= lo##R##1 && key + 1u < hi##R##1) ? s##R##n[3] + a1 : NEG; \
    mx0 = max(mx0, max(s##R##n[0], s##R##n[1]));                                           \
    mx1 = max(mx1, max(s##R##n[2], s##R##n[3]));                                           \
  }
      // P = exp2(S - m) in the A fragments of the four 16-key chunks (S tiles lo = 2k, hi = 2k+1).
#define P_OF(x, m) ((x) > NEG_HALF ? exp2((x) - (m)) : 0.0)
#define BUILD_P(R, k, lo, hi)                                                          \
  {                                                                                    \
    float e0 = P_OF(s##R##lo[0], m##R##0), e1 = P_OF(s##R##lo[1], m##R##0);            \
    float e2 = P_OF(s##R##lo[2], m##R##1), e3 = P_OF(s##R##lo[3], m##R##1);            \
    float e4 = P_OF(s##R##hi[0], m##R##0), e5 = P_OF(s##R##hi[1], m##R##0);            \
    float e6 = P_OF(s##R##hi[2], m##R##1), e7 = P_OF(s##R##hi[3], m##R##1);            \
    ps0 += e0 + e1 + e4 + e5;                                                          \
    ps1 += e2 + e3 + e6 + e7;                                                          \
    pa##R##k[A_G_LO] = float16_t(e0); pa##R##k[A_G_LO + 1] = float16_t(e1);            \
    pa##R##k[A_G8_LO] = float16_t(e2); pa##R##k[A_G8_LO + 1] = float16_t(e3);          \
    pa##R##k[A_G_HI] = float16_t(e4); pa##R##k[A_G_HI + 1] = float16_t(e5);            \
    pa##R##k[A_G8_HI] = float16_t(e6); pa##R##k[A_G8_HI + 1] = float16_t(e7);          \
  }
#define RESCALE_O(n, R) \
  o##R##n[0] *= alpha0; o##R##n[1] *= alpha0; o##R##n[2] *= alpha1; o##R##n[3] *= alpha1;
      // Online softmax of one row tile: new maxima (quad shuffles), P, denominators, O rescaled.
#define SOFTMAX(R)                                                                     \
  A_T pa##R##0, pa##R##1, pa##R##2, pa##R##3;                                          \
  {                                                                                    \
    float mx0 = NEG, mx1 = NEG;                                                        \
    EACH_N(LOGITS, R)                                                                  \
    mx0 = max(mx0, subgroupShuffleXor(mx0, 1u));                                       \
    mx0 = max(mx0, subgroupShuffleXor(mx0, 2u));                                       \
    mx1 = max(mx1, subgroupShuffleXor(mx1, 1u));                                       \
    mx1 = max(mx1, subgroupShuffleXor(mx1, 2u));                                       \
    float mn0 = max(m##R##0, mx0), mn1 = max(m##R##1, mx1);                            \
    /* a row with no admissible key so far keeps O = 0 and l = 0 (alpha irrelevant) */ \
    float alpha0 = m##R##0 > NEG_HALF ? exp2(m##R##0 - mn0) : 1.0;                     \
    float alpha1 = m##R##1 > NEG_HALF ? exp2(m##R##1 - mn1) : 1.0;                     \
    m##R##0 = mn0; m##R##1 = mn1;                                                      \
    float ps0 = 0.0, ps1 = 0.0;                                                        \
    BUILD_P(R, 0, 0, 1) BUILD_P(R, 1, 2, 3) BUILD_P(R, 2, 4, 5) BUILD_P(R, 3, 6, 7)    \
    l##R##0 = l##R##0 * alpha0 + ps0;                                                  \
    l##R##1 = l##R##1 * alpha1 + ps1;                                                  \
    EACH_N(RESCALE_O, R)                                                               \
  }
      EACH_R(SOFTMAX)

      // O += P V: V (keys x head dims) row-major, tile n = head columns 8n..8n+7; each V
      // fragment feeds every row tile.
#define PV(n, kk)                                                           \
  {                                                                         \
    B_T vb;                                                                 \
    coopMatLoadNV(vb, Vs, uint(kk) * 16u * KPV + uint(n), KPV, false);      \
    PV_ROWS(n, kk)                                                          \
  }
      EACH_N(PV, 0) EACH_N(PV, 1) EACH_N(PV, 2) EACH_N(PV, 3)
    }
    barrier();  // K/V/key_add are overwritten by the next block
  }

  // Denominators (the quad's parts), then O / l of this lane's components.
#define WRITE_O(n, R)                                                                                   \
  {                                                                                                     \
    uint col = uint(n) * 8u + cpair;                                                                    \
    if (qi0 < p.n_q && col < hd) dst[p.d_off + qi0 * p.d_stride + q_col + col] = o##R##n[0] * inv0;           \
    if (qi0 < p.n_q && col + 1u < hd) dst[p.d_off + qi0 * p.d_stride + q_col + col + 1u] = o##R##n[1] * inv0; \
    if (qi1 < p.n_q && col < hd) dst[p.d_off + qi1 * p.d_stride + q_col + col] = o##R##n[2] * inv1;           \
    if (qi1 < p.n_q && col + 1u < hd) dst[p.d_off + qi1 * p.d_stride + q_col + col + 1u] = o##R##n[3] * inv1; \
  }
#define FINISH(R)                                                                 \
  {                                                                               \
    float l0 = l##R##0, l1 = l##R##1;                                             \
    l0 += subgroupShuffleXor(l0, 1u);                                             \
    l0 += subgroupShuffleXor(l0, 2u);                                             \
    l1 += subgroupShuffleXor(l1, 1u);                                             \
    l1 += subgroupShuffleXor(l1, 2u);                                             \
    float inv0 = l0 > 0.0 ? 1.0 / l0 : 0.0, inv1 = l1 > 0.0 ? 1.0 / l1 : 0.0;     \
    uint qi0 = qbase + R##row0 + g, qi1 = qi0 + 8u;                               \
    EACH_N(WRITE_O, R)                                                            \
  }
  EACH_R(FINISH)
}
