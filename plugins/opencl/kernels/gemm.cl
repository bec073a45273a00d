// gemm.cl — LINEAR: dst[n,m] = act(x[n,k] * W[m,k]^T + b[m]), bias and activation fused.
//
// Classic local-memory tiling with a register micro-tile. Build-time parameters (host options):
//   TS_N   rows of x per work-group tile         TS_M   rows of W (output columns) per tile
//   WPT_N  x rows per work-item                  WPT_M  W rows per work-item
//   TS_K   depth of one k step                   W_TYPE 0 f32, 1 f16, 2 bf16 (weights only)
// Work-group = (TS_M / WPT_M, TS_N / WPT_N). Work-item (tx, ty) owns rows ty + i*(TS_N/WPT_N) and
// columns tx + j*(TS_M/WPT_M): strided ownership keeps local-memory reads conflict-free and the
// final stores coalesced along tx. Both operands are k-contiguous ("NT" layout), so tiles are
// loaded along k and stored transposed into local memory ([k][row], padded by one).

#ifndef TS_N
#define TS_N 64
#endif
#ifndef TS_M
#define TS_M 64
#endif
#ifndef WPT_N
#define WPT_N 4
#endif
#ifndef WPT_M
#define WPT_M 4
#endif
#ifndef TS_K
#define TS_K 16
#endif
#ifndef W_TYPE
#define W_TYPE 0
#endif

#if W_TYPE == 1
#define W_T half
#define LOAD_W(p, i) vload_half((i), (p))
#elif W_TYPE == 2
#define W_T ushort
#define LOAD_W(p, i) bf16_to_f32((p)[i])
#else
#define W_T float
#define LOAD_W(p, i) ((p)[i])
#endif

#define LX (TS_M / WPT_M)
#define LY (TS_N / WPT_N)
#define WG_SIZE (LX * LY)

__kernel __attribute__((reqd_work_group_size(LX, LY, 1)))
void linear_tiled(__global const float* x, uint x_off, uint x_stride,
                  __global const W_T* w, uint w_off, uint w_stride,
                  __global const float* bias, uint b_off, int has_bias,
                  __global float* dst, uint d_off, uint d_stride,
                  uint n, uint m, uint k, int act) {
  __local float xs[TS_K][TS_N + 1];
  __local float ws[TS_K][TS_M + 1];
  const uint tx = get_local_id(0), ty = get_local_id(1);
  const uint tid = ty * LX + tx;
  const uint row0 = get_group_id(1) * TS_N;
  const uint col0 = get_group_id(0) * TS_M;

  float acc[WPT_N][WPT_M];
#pragma unroll
  for (uint i = 0; i < WPT_N; ++i)
#pragma unroll
    for (uint j = 0; j < WPT_M; ++j) acc[i][j] = 0.0f;

  for (uint k0 = 0; k0 < k; k0 += TS_K) {
    // Consecutive work-items read consecutive k of one row: TS_K-float runs per row.
    for (uint e = tid; e < TS_N * TS_K; e += WG_SIZE) {
      const uint r = e / TS_K, kk = e % TS_K;
      const uint gr = row0 + r, gk = k0 + kk;
      xs[kk][r] = (gr < n && gk < k) ? x[(size_t)x_off + (size_t)gr * x_stride + gk] : 0.0f;
    }
    for (uint e = tid; e < TS_M * TS_K; e += WG_SIZE) {
      const uint r = e / TS_K, kk = e % TS_K;
      const uint gc = col0 + r, gk = k0 + kk;
      ws[kk][r] =
          (gc < m && gk < k) ? LOAD_W(w, (size_t)w_off + (size_t)gc * w_stride + gk) : 0.0f;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
#pragma unroll
    for (uint kk = 0; kk < TS_K; ++kk) {
      float a[WPT_N], b[WPT_M];
#pragma unroll
      for (uint i = 0; i < WPT_N; ++i) a[i] = xs[kk][ty + i * LY];
#pragma unroll
      for (uint j = 0; j < WPT_M; ++j) b[j] = ws[kk][tx + j * LX];
#pragma unroll
      for (uint i = 0; i < WPT_N; ++i)
#pragma unroll
        for (uint j = 0; j < WPT_M; ++j) acc[i][j] = fma(a[i], b[j], acc[i][j]);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }

#pragma unroll
  for (uint i = 0; i < WPT_N; ++i) {
    const uint r = row0 + ty + i * LY;
    if (r >= n) continue;
#pragma unroll
    for (uint j = 0; j < WPT_M; ++j) {
      const uint c = col0 + tx + j * LX;
      if (c >= m) continue;
      float v = acc[i][j];
      if (has_bias) v += bias[b_off + c];
      dst[(size_t)d_off + (size_t)r * d_stride + c] = apply_act(v, act);
    }
  }
}

// Skinny LINEAR for few rows (the decoder head runs on 1..B CLS rows): one work-group per
// (output column block, x row); work-items split k and reduce in local memory. W is read once per
// x row with coalesced k-runs instead of being staged through tiles that are mostly padding.
#ifndef SK_WG
#define SK_WG 64
#endif
#ifndef SK_COLS
#define SK_COLS 4
#endif
__kernel __attribute__((reqd_work_group_size(SK_WG, 1, 1)))
void linear_skinny(__global const float* x, uint x_off, uint x_stride,
                   __global const W_T* w, uint w_off, uint w_stride,
                   __global const float* bias, uint b_off, int has_bias,
                   __global float* dst, uint d_off, uint d_stride,
                   uint n, uint m, uint k, int act) {
  __local float red[SK_COLS][SK_WG];
  const uint l = get_local_id(0);
  const uint c0 = get_group_id(0) * SK_COLS;
  const uint r = get_group_id(1);
  float part[SK_COLS];
#pragma unroll
  for (uint j = 0; j < SK_COLS; ++j) part[j] = 0.0f;
  for (uint kk = l; kk < k; kk += SK_WG) {
    const float xv = x[(size_t)x_off + (size_t)r * x_stride + kk];
#pragma unroll
    for (uint j = 0; j < SK_COLS; ++j) {
      const uint c = c0 + j;
      if (c < m) part[j] = fma(xv, LOAD_W(w, (size_t)w_off + (size_t)c * w_stride + kk), part[j]);
    }
  }
#pragma unroll
  for (uint j = 0; j < SK_COLS; ++j) red[j][l] = part[j];
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint s = SK_WG / 2; s > 0; s >>= 1) {
    if (l < s)
#pragma unroll
      for (uint j = 0; j < SK_COLS; ++j) red[j][l] += red[j][l + s];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (l < SK_COLS) {
    const uint c = c0 + l;
    if (c < m) {
      float v = red[l][0];
      if (has_bias) v += bias[b_off + c];
      dst[(size_t)d_off + (size_t)r * d_stride + c] = apply_act(v, act);
    }
  }
}
