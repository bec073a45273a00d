// ops.hpp — the exact meaning of every op in uce_plugin.h. Backends, the reference backend and the
// op test harness all implement against THIS text; if code and text disagree, the text wins.
//
// Conventions
//  * Tensors are 2-D, row-major: ne[0] rows, ne[1] columns; stride[1] == 1 and stride[0] >= ne[1]
//    (elements). 1-D tensors (ndim 1, ne[0] = length) are used for indices, biases, norms.
//  * Activations are f32. Weights (LINEAR W, GATHER table) may be f32, f16 or bf16 when the
//    backend's supports_op says so. Index tensors are i32. Masks are u8.
//  * srcs[k] == NULL means "optional input absent". n_srcs counts the slots used, NULLs included.
//  * Vectors (bias, gamma, beta, key_bias, key_mask, indices, seg, pos, query_rows) may be 1-D or
//    [1, L]; ADD's b is 2-D ([n,D] or [1,D]). An activation is only meaningful on LINEAR and
//    LAYERNORM; act_before_norm must be 0 (reserved).
//
// GATHER_ROWS   srcs: [0] table [V,D], [1] idx i32 [n]      dst [n,D]
//               dst[i,:] = table[idx[i],:]  (idx out of [0,V) is the caller's bug; backends may
//               return UCE_ERR_INVALID_ARGUMENT)
// SLICE_ROWS    identical semantics to GATHER_ROWS; a separate type so plans read naturally.
// L2NORM_ROWS   srcs: [0] x [n,D]                           dst [n,D]
//               dst[i,:] = x[i,:] / max(||x[i,:]||_2, eps)
// LINEAR        srcs: [0] x [n,K], [1] W [M,K] (PyTorch layout), [2] b [M] or NULL   dst [n,M]
//               dst = act(x * W^T + b)      act = op.activation (NONE, GELU exact, RELU)
// LAYERNORM     srcs: [0] x [n,D], [1] gamma [D], [2] beta [D], [3] residual [n,D] or NULL
//               v = x + residual; y = (v - mean(v)) / sqrt(var(v) + eps) * gamma + beta
//               (biased variance over D); dst = act(y) * scale    (scale 1 = none)
// GELU / RELU   srcs: [0] x [n,D]                           dst [n,D]  elementwise
//               gelu(v) = 0.5 v (1 + erf(v / sqrt 2))
// ADD           srcs: [0] a [n,D], [1] b [n,D] or [1,D] (broadcast over rows)   dst [n,D]
// SCALE         srcs: [0] x [n,D]                           dst = x * op.scale
// ATTENTION     packed variable-length multi-head self-attention, heads = op.n_heads,
//               head dim hd = d / heads, softmax scale = op.scale (1/sqrt(hd) for UCE).
//               srcs: [0] qkv [N, 3d]: columns [0,d) = q, [d,2d) = k, [2d,3d) = v, head h uses
//                       columns [h*hd, (h+1)*hd) of each part (PyTorch in_proj layout);
//                     [1] seg i32 [B+1]: sequence s owns rows [seg[s], seg[s+1]); seg[0] = 0,
//                       seg[B] = N, non-decreasing;
//                     [2] key_bias f32 [N] or NULL: added to every logit whose KEY is row j
//                       (the official tool's float padding mask: +1 on padded keys);
//                     [3] key_mask u8 [N] or NULL: 1 = key j is masked out (logit -inf);
//                       a query whose keys are all masked (or whose logits are all -inf)
//                       gets zeros;
//                     [4] query_rows i32 [Q] or NULL: compute only these query rows, in this
//                       order (NULL = all N rows, Q = N). Keys/values are always all rows of
//                       the query row's own sequence.
//               dst [Q, d]: for query row i in sequence s, head h:
//                 p_j = softmax_j( q_i.k_j * scale + key_bias[j] ), j in seq s (unmasked)
//                 dst[i, h*hd + c] = sum_j p_j v_j[c]
// COPY          srcs: [0] x    dst same shape, may differ in dtype (f32 <-> f16/bf16)
// ADD_ROWS_PE   srcs: [0] x [N,D], [1] pe [P,D], [2] pos i32 [N]   dst[i,:] = x[i,:] + pe[pos[i],:]
// SEGMENT_MEAN  srcs: [0] x [N,D], [1] seg i32 [B+1]        dst [B,D] mean of each segment's rows
//               (an empty segment gives zeros)
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "uce/uce_plugin.h"

namespace uce {

inline const char* op_type_name(int type) {
  switch (type) {
    case UCE_OP_GATHER_ROWS: return "gather_rows";
    case UCE_OP_L2NORM_ROWS: return "l2norm_rows";
    case UCE_OP_LINEAR: return "linear";
    case UCE_OP_LAYERNORM: return "layernorm";
    case UCE_OP_GELU: return "gelu";
    case UCE_OP_RELU: return "relu";
    case UCE_OP_ADD: return "add";
    case UCE_OP_SCALE: return "scale";
    case UCE_OP_ATTENTION: return "attention";
    case UCE_OP_SLICE_ROWS: return "slice_rows";
    case UCE_OP_COPY: return "copy";
    case UCE_OP_ADD_ROWS_PE: return "add_rows_pe";
    case UCE_OP_SEGMENT_MEAN: return "segment_mean";
    default: return "unknown";
  }
}

// Config names of op types ("matmul" is accepted as an alias of "linear" in configs).
inline int op_type_from_name(std::string_view name) {
  if (name == "matmul") return UCE_OP_LINEAR;
  for (int t = 0; t < UCE_OP_COUNT; ++t)
    if (name == op_type_name(t)) return t;
  return -1;
}

inline const char* dtype_name(int dtype) {
  switch (dtype) {
    case UCE_F32: return "f32";
    case UCE_F16: return "f16";
    case UCE_BF16: return "bf16";
    case UCE_I32: return "i32";
    case UCE_I64: return "i64";
    case UCE_U8: return "u8";
    case UCE_F64: return "f64";
    default: return "?";
  }
}

inline size_t dtype_size(int dtype) {
  switch (dtype) {
    case UCE_F32: case UCE_I32: return 4;
    case UCE_F16: case UCE_BF16: return 2;
    case UCE_I64: case UCE_F64: return 8;
    case UCE_U8: return 1;
    default: return 0;
  }
}

inline const char* activation_name(int act) {
  switch (act) {
    case UCE_ACT_NONE: return "none";
    case UCE_ACT_GELU: return "gelu";
    case UCE_ACT_RELU: return "relu";
    default: return "?";
  }
}

}  // namespace uce
