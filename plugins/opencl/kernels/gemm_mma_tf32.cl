// gemm_mma_tf32.cl — LINEAR on NVIDIA tensor cores with fp32 accuracy (3xTF32; the split, the
// mma.sync wrappers and the fragment layouts are in mma_tf32.cl, prepended to this program).
//
// dst[n,m] = act(x[n,k] * W[m,k]^T + b[m]), like gemm.cl's linear_tiled, f32 operands only.
//
// Accumulation: measured with one running tensor-core sum, the truncating sums gave NMSE 4e-11
// at k = 1280 and 1e-9 at k = 5120 (fp32 FMA loops: ~1e-14). So each 32-deep k tile is summed on
// the tensor cores from zero (`part`) and added to the accumulators with ordinary rounded fp32
// adds: measured NMSE 6e-14 (k = 1280) and 1.2e-13 (k = 5120) against a double reference, for 2%
// of the time.
//
// Tiles: a work-group of 128 (4 warps) computes 128 x rows by 64 W rows; warp (wy, wx) of a
// 2 x 2 grid owns 64 x 32 of them as 4 x 4 m16n8 accumulators. k advances 32 at a time through
// local memory, rows padded to 36 floats so that each fragment read (lane 4 g + t reads row g,
// column t) hits 32 different banks. The next k tile is loaded into registers while the current
// one is multiplied. The host guarantees k, both row strides and both offsets are multiples of 4
// (float4 loads); rows and columns past n and m are zero-filled on load and skipped on store.
// (Measured on an H100 and not kept: 256-item groups of 128 x 128, 2-5% slower; splitting
// once when a tile is stored, with 16-deep tiles to fit both halves in 48 KiB, 11% slower.)

#define BM 128
#define BN 64
#define BK 32
#define LDS (BK + 4)
#define WG 128
#define LOADS_PER_ITEM (BM * BK / 4 / WG)  // float4 loads per operand and work-item

__kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void linear_mma_tf32x3(__global const float* x, uint x_off, uint x_stride,
                       __global const float* w, uint w_off, uint w_stride,
                       __global const float* bias, uint b_off, int has_bias,
                       __global float* dst, uint d_off, uint d_stride,
                       uint n, uint m, uint k, int act) {
  // Declared as float4 so that the tiles' float4 stores are 16-byte aligned.
  __local float4 xs4[BM * LDS / 4], ws4[BN * LDS / 4];
  __local float* xs = (__local float*)xs4;
  __local float* ws = (__local float*)ws4;
  const uint tid = get_local_id(0);
  const uint lane = tid & 31, warp = tid >> 5;
  const uint g = lane >> 2, t = lane & 3;
  const uint wy = warp >> 1, wx = warp & 1;
  const uint row0 = get_group_id(1) * BM, col0 = get_group_id(0) * BN;

  float acc[4][4][4];
#pragma unroll
  for (uint i = 0; i < 4; ++i)
#pragma unroll
    for (uint j = 0; j < 4; ++j)
#pragma unroll
      for (uint c = 0; c < 4; ++c) acc[i][j][c] = 0.0f;

  // Work-item tid loads float4 number tid + i * WG of each 32-deep tile (8 per row, so eight
  // consecutive work-items read one row's 128 contiguous bytes); the W tile has BN rows only.
  float4 xr[LOADS_PER_ITEM], wr[LOADS_PER_ITEM];
#define LOAD_TILES(k0)                                                                      \
  for (uint i = 0; i < LOADS_PER_ITEM; ++i) {                                               \
    const uint e = tid + i * WG, r = e >> 3, c = (e & 7) * 4, gk = (k0) + c;                 \
    xr[i] = (row0 + r < n && gk < k)                                                        \
                ? *(__global const float4*)(x + x_off + (size_t)(row0 + r) * x_stride + gk) \
                : (float4)(0.0f);                                                           \
    if (r < BN)                                                                             \
      wr[i] = (col0 + r < m && gk < k)                                                      \
                  ? *(__global const float4*)(w + w_off + (size_t)(col0 + r) * w_stride + gk) \
                  : (float4)(0.0f);                                                         \
  }
#define STORE_TILES()                                                \
  for (uint i = 0; i < LOADS_PER_ITEM; ++i) {                        \
    const uint e = tid + i * WG, r = e >> 3, c = (e & 7) * 4;        \
    *(__local float4*)(xs + r * LDS + c) = xr[i];                    \
    if (r < BN) *(__local float4*)(ws + r * LDS + c) = wr[i];       \
  }

  LOAD_TILES(0u)
  for (uint k0 = 0; k0 < k; k0 += BK) {
    STORE_TILES()
    barrier(CLK_LOCAL_MEM_FENCE);
    if (k0 + BK < k) { LOAD_TILES(k0 + BK) }
    float part[4][4][4];  // this k tile's sums, from the tensor cores
#pragma unroll
    for (uint kk = 0; kk < BK; kk += 8) {
      uint a_big[4][4], a_small[4][4], b_big[4][2], b_small[4][2];
#pragma unroll
      for (uint mt = 0; mt < 4; ++mt) {
        const uint base = (wy * 64 + mt * 16 + g) * LDS + kk + t;
        const float v[4] = {xs[base], xs[base + 8 * LDS], xs[base + 4], xs[base + 8 * LDS + 4]};
#pragma unroll
        for (uint c = 0; c < 4; ++c) {
          a_big[mt][c] = TF32_BIG(v[c]);
          a_small[mt][c] = TF32_SMALL(v[c], a_big[mt][c]);
        }
      }
#pragma unroll
      for (uint nt = 0; nt < 4; ++nt) {
        const uint base = (wx * 32 + nt * 8 + g) * LDS + kk + t;
        const float v[2] = {ws[base], ws[base + 4]};
#pragma unroll
        for (uint c = 0; c < 2; ++c) {
          b_big[nt][c] = TF32_BIG(v[c]);
          b_small[nt][c] = TF32_SMALL(v[c], b_big[nt][c]);
        }
      }
#pragma unroll
      for (uint mt = 0; mt < 4; ++mt)
#pragma unroll
        for (uint nt = 0; nt < 4; ++nt) {
          if (kk == 0) {
            MMA3_TF32_FIRST(part[mt][nt], a_big[mt], a_small[mt], b_big[nt], b_small[nt]);
          } else {
            MMA3_TF32_ADD(part[mt][nt], a_big[mt], a_small[mt], b_big[nt], b_small[nt]);
          }
        }
    }
#pragma unroll
    for (uint i = 0; i < 4; ++i)
#pragma unroll
      for (uint j = 0; j < 4; ++j)
#pragma unroll
        for (uint c = 0; c < 4; ++c) acc[i][j][c] += part[i][j][c];
    barrier(CLK_LOCAL_MEM_FENCE);
  }

#pragma unroll
  for (uint mt = 0; mt < 4; ++mt)
#pragma unroll
    for (uint half8 = 0; half8 < 2; ++half8) {
      const uint r = row0 + wy * 64 + mt * 16 + g + half8 * 8;
      if (r >= n) continue;
      __global float* out = dst + d_off + (size_t)r * d_stride;
#pragma unroll
      for (uint nt = 0; nt < 4; ++nt) {
        const uint c = col0 + wx * 32 + nt * 8 + 2 * t;
#pragma unroll
        for (uint j = 0; j < 2; ++j) {
          if (c + j >= m) continue;
          float v = acc[mt][nt][half8 * 2 + j];
          if (has_bias) v += bias[b_off + c + j];
          out[c + j] = apply_act(v, act);
        }
      }
    }
}
