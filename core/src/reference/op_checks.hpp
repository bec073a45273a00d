// op_checks.hpp — structural validation of a uce_op against ops.hpp (shapes, dtypes, strides,
// which inputs must be present). Header-only and free of core symbols so that every backend (the
// built-in reference, the plugins) applies the SAME rules: a backend's supports_op calls
// check_op_structure() first and then adds only its own limitations. Data-dependent checks
// (index ranges, segment offsets) need the values and live in the value checks at the bottom,
// called by CPU backends inside compute().
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "uce/ops.hpp"
#include "uce/uce_plugin.h"

namespace uce::opcheck {

inline bool is_float_dtype(int dt) { return dt == UCE_F32 || dt == UCE_F16 || dt == UCE_BF16; }

inline std::string tensor_desc(const uce_tensor* t) {
  if (!t) return "absent";
  std::string s = dtype_name(t->dtype);
  s += "[";
  for (int i = 0; i < t->ndim && i < UCE_MAX_DIMS; ++i) {
    if (i) s += ",";
    s += std::to_string(t->ne[i]);
  }
  return s + "]";
}

// A 2-D row-major matrix of `dtype`: stride[1] == 1, stride[0] >= ne[1].
inline bool check_matrix(const uce_tensor* t, const char* what, int dtype, std::string& why) {
  if (!t) {
    why = std::string(what) + " is missing";
    return false;
  }
  if (t->dtype != dtype) {
    why = std::string(what) + " must be " + dtype_name(dtype) + ", got " + tensor_desc(t);
    return false;
  }
  if (t->ndim != 2 || t->ne[0] < 0 || t->ne[1] < 0) {
    why = std::string(what) + " must be a 2-D tensor, got " + tensor_desc(t);
    return false;
  }
  if (t->stride[1] != 1 || t->stride[0] < t->ne[1]) {
    why = std::string(what) + " must be row-major with stride[1] == 1 and stride[0] >= ne[1], got strides " +
          std::to_string(t->stride[0]) + "," + std::to_string(t->stride[1]);
    return false;
  }
  return true;
}

// A vector of `len` elements: 1-D contiguous (stride[0] == 1), or a [1, len] matrix.
inline bool check_vector(const uce_tensor* t, const char* what, int dtype, int64_t len, std::string& why) {
  if (!t) {
    why = std::string(what) + " is missing";
    return false;
  }
  if (t->dtype != dtype) {
    why = std::string(what) + " must be " + dtype_name(dtype) + ", got " + tensor_desc(t);
    return false;
  }
  const bool as_1d = t->ndim == 1 && t->ne[0] == len && (t->stride[0] == 1 || len <= 1);
  const bool as_row = t->ndim == 2 && t->ne[0] == 1 && t->ne[1] == len && t->stride[1] == 1;
  if (!as_1d && !as_row) {
    why = std::string(what) + " must be a contiguous vector of " + std::to_string(len) + " " +
          dtype_name(dtype) + " elements, got " + tensor_desc(t);
    return false;
  }
  return true;
}

inline int64_t vector_length(const uce_tensor* t) { return t->ndim == 1 ? t->ne[0] : t->ne[1]; }

inline bool same_shape_2d(const uce_tensor* a, const uce_tensor* b) {
  return a->ne[0] == b->ne[0] && a->ne[1] == b->ne[1];
}

inline bool fail(std::string& why, std::string text) {
  why = std::move(text);
  return false;
}

// The rules of ops.hpp that do not depend on tensor values. Returns false with `why` filled in.
inline bool check_op_structure(const uce_op* op, std::string& why) {
  if (!op) return fail(why, "op is NULL");
  if (op->struct_size < offsetof(uce_op, name) + sizeof(const char*))
    return fail(why, "uce_op.struct_size " + std::to_string(op->struct_size) + " is too small for ABI 1");
  if (op->n_srcs < 0 || op->n_srcs > UCE_MAX_SRCS) return fail(why, "n_srcs out of range");
  auto src = [&](int i) -> const uce_tensor* { return i < op->n_srcs ? op->srcs[i] : nullptr; };
  const uce_tensor* dst = op->dst;
  const std::string opname = op_type_name(op->type);
  if (!dst) return fail(why, opname + ": dst is missing");
  const bool act_ok = op->activation == UCE_ACT_NONE || op->activation == UCE_ACT_GELU ||
                      op->activation == UCE_ACT_RELU;
  if (!act_ok) return fail(why, opname + ": unknown activation " + std::to_string(op->activation));
  if (op->activation != UCE_ACT_NONE && op->type != UCE_OP_LINEAR && op->type != UCE_OP_LAYERNORM)
    return fail(why, opname + ": a fused activation is only defined for linear and layernorm");

  switch (op->type) {
    case UCE_OP_GATHER_ROWS:
    case UCE_OP_SLICE_ROWS: {
      const uce_tensor* table = src(0);
      if (!table) return fail(why, opname + ": table (srcs[0]) is missing");
      if (!is_float_dtype(table->dtype))
        return fail(why, opname + ": table must be f32, f16 or bf16, got " + tensor_desc(table));
      if (!check_matrix(table, "table (srcs[0])", table->dtype, why)) return false;
      const uce_tensor* idx = src(1);
      if (!idx || idx->ndim != 1) return fail(why, opname + ": idx (srcs[1]) must be a 1-D i32 tensor");
      if (!check_vector(idx, "idx (srcs[1])", UCE_I32, idx->ne[0], why)) return false;
      if (!check_matrix(dst, "dst", UCE_F32, why)) return false;
      if (dst->ne[0] != idx->ne[0] || dst->ne[1] != table->ne[1])
        return fail(why, opname + ": dst must be [" + std::to_string(idx->ne[0]) + "," +
                             std::to_string(table->ne[1]) + "], got " + tensor_desc(dst));
      return true;
    }
    case UCE_OP_L2NORM_ROWS:
    case UCE_OP_GELU:
    case UCE_OP_RELU:
    case UCE_OP_SCALE: {
      if (!check_matrix(src(0), "x (srcs[0])", UCE_F32, why)) return false;
      if (!check_matrix(dst, "dst", UCE_F32, why)) return false;
      if (!same_shape_2d(src(0), dst))
        return fail(why, opname + ": dst " + tensor_desc(dst) + " must have the shape of x " + tensor_desc(src(0)));
      return true;
    }
    case UCE_OP_LINEAR: {
      const uce_tensor* x = src(0);
      const uce_tensor* w = src(1);
      if (!check_matrix(x, "x (srcs[0])", UCE_F32, why)) return false;
      if (!w) return fail(why, "linear: W (srcs[1]) is missing");
      if (!is_float_dtype(w->dtype)) return fail(why, "linear: W must be f32, f16 or bf16, got " + tensor_desc(w));
      if (!check_matrix(w, "W (srcs[1])", w->dtype, why)) return false;
      if (w->ne[1] != x->ne[1])
        return fail(why, "linear: W " + tensor_desc(w) + " must have " + std::to_string(x->ne[1]) +
                             " columns (x is " + tensor_desc(x) + ")");
      if (src(2) && !check_vector(src(2), "b (srcs[2])", UCE_F32, w->ne[0], why)) return false;
      if (!check_matrix(dst, "dst", UCE_F32, why)) return false;
      if (dst->ne[0] != x->ne[0] || dst->ne[1] != w->ne[0])
        return fail(why, "linear: dst must be [" + std::to_string(x->ne[0]) + "," + std::to_string(w->ne[0]) +
                             "], got " + tensor_desc(dst));
      return true;
    }
    case UCE_OP_LAYERNORM: {
      const uce_tensor* x = src(0);
      if (!check_matrix(x, "x (srcs[0])", UCE_F32, why)) return false;
      const int64_t d = x->ne[1];
      if (!check_vector(src(1), "gamma (srcs[1])", UCE_F32, d, why)) return false;
      if (!check_vector(src(2), "beta (srcs[2])", UCE_F32, d, why)) return false;
      if (src(3)) {
        if (!check_matrix(src(3), "residual (srcs[3])", UCE_F32, why)) return false;
        if (!same_shape_2d(src(3), x)) return fail(why, "layernorm: residual must have the shape of x");
      }
      if (!check_matrix(dst, "dst", UCE_F32, why)) return false;
      if (!same_shape_2d(dst, x)) return fail(why, "layernorm: dst must have the shape of x");
      if (op->act_before_norm) return fail(why, "layernorm: act_before_norm is not defined by ops.hpp");
      if (!(op->eps >= 0.0f)) return fail(why, "layernorm: eps must be >= 0");
      return true;
    }
    case UCE_OP_ADD: {
      const uce_tensor* a = src(0);
      const uce_tensor* b = src(1);
      if (!check_matrix(a, "a (srcs[0])", UCE_F32, why)) return false;
      if (!check_matrix(b, "b (srcs[1])", UCE_F32, why)) return false;
      if (b->ne[1] != a->ne[1] || (b->ne[0] != a->ne[0] && b->ne[0] != 1))
        return fail(why, "add: b " + tensor_desc(b) + " must be [n,D] or [1,D] for a " + tensor_desc(a));
      if (!check_matrix(dst, "dst", UCE_F32, why)) return false;
      if (!same_shape_2d(dst, a)) return fail(why, "add: dst must have the shape of a");
      return true;
    }
    case UCE_OP_ATTENTION: {
      const uce_tensor* qkv = src(0);
      if (!check_matrix(qkv, "qkv (srcs[0])", UCE_F32, why)) return false;
      if (op->n_heads <= 0) return fail(why, "attention: n_heads must be > 0");
      if (qkv->ne[1] % 3 != 0) return fail(why, "attention: qkv columns must be 3*d, got " + tensor_desc(qkv));
      const int64_t d = qkv->ne[1] / 3;
      if (d % op->n_heads != 0)
        return fail(why, "attention: d=" + std::to_string(d) + " is not divisible by n_heads=" +
                             std::to_string(op->n_heads));
      const int64_t n = qkv->ne[0];
      const uce_tensor* seg = src(1);
      if (!seg || seg->ndim != 1 || seg->ne[0] < 2)
        return fail(why, "attention: seg (srcs[1]) must be a 1-D i32 tensor [B+1], B >= 1");
      if (!check_vector(seg, "seg (srcs[1])", UCE_I32, seg->ne[0], why)) return false;
      if (src(2) && !check_vector(src(2), "key_bias (srcs[2])", UCE_F32, n, why)) return false;
      if (src(3) && !check_vector(src(3), "key_mask (srcs[3])", UCE_U8, n, why)) return false;
      int64_t q = n;
      if (src(4)) {
        if (src(4)->ndim != 1) return fail(why, "attention: query_rows (srcs[4]) must be 1-D i32");
        if (!check_vector(src(4), "query_rows (srcs[4])", UCE_I32, src(4)->ne[0], why)) return false;
        q = src(4)->ne[0];
      }
      if (!check_matrix(dst, "dst", UCE_F32, why)) return false;
      if (dst->ne[0] != q || dst->ne[1] != d)
        return fail(why, "attention: dst must be [" + std::to_string(q) + "," + std::to_string(d) + "], got " +
                             tensor_desc(dst));
      return true;
    }
    case UCE_OP_COPY: {
      const uce_tensor* x = src(0);
      if (!x) return fail(why, "copy: x (srcs[0]) is missing");
      const bool float_pair = is_float_dtype(x->dtype) && is_float_dtype(dst->dtype);
      if (!float_pair && x->dtype != dst->dtype)
        return fail(why, std::string("copy: cannot convert ") + dtype_name(x->dtype) + " to " + dtype_name(dst->dtype));
      if (dtype_size(x->dtype) == 0) return fail(why, "copy: unknown dtype");
      if (x->ndim == 1 && dst->ndim == 1) {
        if (!check_vector(x, "x (srcs[0])", x->dtype, x->ne[0], why)) return false;
        if (!check_vector(dst, "dst", dst->dtype, x->ne[0], why)) return false;
        return true;
      }
      if (!check_matrix(x, "x (srcs[0])", x->dtype, why)) return false;
      if (!check_matrix(dst, "dst", dst->dtype, why)) return false;
      if (!same_shape_2d(x, dst)) return fail(why, "copy: dst must have the shape of x");
      return true;
    }
    case UCE_OP_ADD_ROWS_PE: {
      const uce_tensor* x = src(0);
      if (!check_matrix(x, "x (srcs[0])", UCE_F32, why)) return false;
      if (!check_matrix(src(1), "pe (srcs[1])", UCE_F32, why)) return false;
      if (src(1)->ne[1] != x->ne[1]) return fail(why, "add_rows_pe: pe must have the columns of x");
      if (!check_vector(src(2), "pos (srcs[2])", UCE_I32, x->ne[0], why)) return false;
      if (!check_matrix(dst, "dst", UCE_F32, why)) return false;
      if (!same_shape_2d(dst, x)) return fail(why, "add_rows_pe: dst must have the shape of x");
      return true;
    }
    case UCE_OP_SEGMENT_MEAN: {
      const uce_tensor* x = src(0);
      if (!check_matrix(x, "x (srcs[0])", UCE_F32, why)) return false;
      const uce_tensor* seg = src(1);
      if (!seg || seg->ndim != 1 || seg->ne[0] < 1)
        return fail(why, "segment_mean: seg (srcs[1]) must be a 1-D i32 tensor [B+1]");
      if (!check_vector(seg, "seg (srcs[1])", UCE_I32, seg->ne[0], why)) return false;
      if (!check_matrix(dst, "dst", UCE_F32, why)) return false;
      if (dst->ne[0] != seg->ne[0] - 1 || dst->ne[1] != x->ne[1])
        return fail(why, "segment_mean: dst must be [" + std::to_string(seg->ne[0] - 1) + "," +
                             std::to_string(x->ne[1]) + "], got " + tensor_desc(dst));
      return true;
    }
    default:
      return fail(why, "unknown op type " + std::to_string(op->type));
  }
}

// ---- value checks (host-addressable data) ------------------------------------------------------

// seg[0] == 0, seg[B] == n, non-decreasing.
inline bool check_segments(const int32_t* seg, int64_t count, int64_t n, std::string& why) {
  if (count < 1 || seg[0] != 0) return fail(why, "seg[0] must be 0");
  for (int64_t s = 1; s < count; ++s)
    if (seg[s] < seg[s - 1]) return fail(why, "seg must be non-decreasing (seg[" + std::to_string(s) + "] < seg[" + std::to_string(s - 1) + "])");
  if (seg[count - 1] != n)
    return fail(why, "seg[B] = " + std::to_string(seg[count - 1]) + " must equal the row count " + std::to_string(n));
  return true;
}

// Every idx[i] in [0, limit).
inline bool check_indices(const int32_t* idx, int64_t count, int64_t limit, const char* what, std::string& why) {
  for (int64_t i = 0; i < count; ++i)
    if (idx[i] < 0 || idx[i] >= limit)
      return fail(why, std::string(what) + "[" + std::to_string(i) + "] = " + std::to_string(idx[i]) +
                           " is outside [0," + std::to_string(limit) + ")");
  return true;
}

// Copies `why` into a C buffer (supports_op's why/why_len, uce_error).
inline void write_message(char* buf, size_t len, const std::string& text) {
  if (!buf || len == 0) return;
  std::snprintf(buf, len, "%s", text.c_str());
}

}  // namespace uce::opcheck
