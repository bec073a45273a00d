// op_check.cpp — what this backend runs, checked on the full op description (ops.hpp).
#include <cstdint>
#include <initializer_list>
#include <string>

#include "backend.hpp"
#include "uce/ops.hpp"

namespace uce::ocl {
namespace {

constexpr uint64_t kMaxU32 = 0xffffffffull;

struct Checker {
  const uce_op& op;
  bool need_buffers;
  std::string error;
  uce_status code = UCE_OK;

  bool fail(uce_status c, const std::string& msg) {
    if (code == UCE_OK) {
      code = c;
      error = std::string("opencl: ") + op_type_name(op.type) + " '" + (op.name ? op.name : "?") +
              "': " + msg;
    }
    return false;
  }
  bool invalid(const std::string& msg) { return fail(UCE_ERR_INVALID_ARGUMENT, msg); }
  bool unsupported(const std::string& msg) { return fail(UCE_ERR_UNSUPPORTED, msg); }

  const uce_tensor* src(int i) const {
    return (i < op.n_srcs && i < UCE_MAX_SRCS) ? op.srcs[i] : nullptr;
  }

  // Layout rules common to every tensor; `what` names it in messages ("srcs[1] (W)").
  bool layout(const uce_tensor* t, const std::string& what) {
    if (!t) return invalid(what + " is missing");
    if (t->ndim < 1 || t->ndim > 2)
      return unsupported(what + " has ndim " + std::to_string(t->ndim) + "; expected 1 or 2");
    const size_t es = dtype_size(t->dtype);
    if (es == 0) return invalid(what + " has unknown dtype " + std::to_string(t->dtype));
    for (int d = 0; d < t->ndim; ++d)
      if (t->ne[d] < 0) return invalid(what + " has a negative extent");
    if (t->ndim == 2) {
      if (t->stride[1] != 1)
        return unsupported(what + " has column stride " + std::to_string(t->stride[1]) +
                           "; expected 1 (row-major)");
      if (t->ne[0] > 1 && t->stride[0] < t->ne[1])
        return invalid(what + " has row stride " + std::to_string(t->stride[0]) + " < columns " +
                       std::to_string(t->ne[1]));
    } else if (t->stride[0] != 1 && t->stride[0] != 0 && t->ne[0] > 1) {
      return unsupported(what + " is a strided 1-D view; expected contiguous");
    }
    if (t->offset % es != 0)
      return invalid(what + " offset " + std::to_string(t->offset) + " is not a multiple of its " +
                     dtype_name(t->dtype) + " element size");
    const View v = make_view(*t);
    const uint64_t last = v.rows == 0 || v.cols == 0
                              ? 0
                              : uint64_t(v.off) + uint64_t(v.rows - 1) * v.stride + v.cols;
    if (uint64_t(t->offset / es) > kMaxU32 || uint64_t(t->ne[0]) > kMaxU32 ||
        (t->ndim == 2 && (uint64_t(t->stride[0]) > kMaxU32 || uint64_t(t->ne[1]) > kMaxU32)) ||
        last > kMaxU32)
      return unsupported(what + " spans more than 2^32 elements");
    if (need_buffers) {
      if (!t->buffer) return invalid(what + " is not in a buffer of this backend (buffer is NULL)");
      if (last * es > t->buffer->bytes)
        return invalid(what + " extends to byte " + std::to_string(last * es) +
                       " past the end of its buffer (" + std::to_string(t->buffer->bytes) +
                       " bytes)");
    }
    return true;
  }

  bool dtype(const uce_tensor* t, const std::string& what, int want) {
    if (t->dtype != want)
      return unsupported(what + " has dtype " + dtype_name(t->dtype) + "; expected " +
                         dtype_name(want));
    return true;
  }
  bool float_storage(const uce_tensor* t, const std::string& what) {
    if (t->dtype != UCE_F32 && t->dtype != UCE_F16 && t->dtype != UCE_BF16)
      return unsupported(what + " has dtype " + dtype_name(t->dtype) + "; expected f32, f16 or bf16");
    return true;
  }
  // 2-D [rows, cols] (a 1-D tensor is accepted as one row when rows == 1).
  bool matrix(const uce_tensor* t, const std::string& what, int64_t rows, int64_t cols) {
    const View v = make_view(*t);
    if ((rows >= 0 && v.rows != rows) || (cols >= 0 && v.cols != cols))
      return invalid(what + " has shape [" + std::to_string(v.rows) + "," + std::to_string(v.cols) +
                     "]; expected [" + (rows >= 0 ? std::to_string(rows) : "*") + "," +
                     (cols >= 0 ? std::to_string(cols) : "*") + "]");
    return true;
  }
  // A contiguous vector: 1-D, or 2-D with one row.
  bool vector(const uce_tensor* t, const std::string& what, int64_t len, int64_t* got = nullptr) {
    const View v = make_view(*t);
    if (v.rows != 1 && !(v.cols == 1 && v.stride == 1))
      return unsupported(what + " must be a contiguous vector");
    const int64_t n = int64_t(v.rows) * v.cols;
    if (len >= 0 && n != len)
      return invalid(what + " has " + std::to_string(n) + " elements; expected " + std::to_string(len));
    if (got) *got = n;
    return true;
  }
  bool activation(int act) {
    if (act != UCE_ACT_NONE && act != UCE_ACT_GELU && act != UCE_ACT_RELU)
      return invalid("unknown activation " + std::to_string(act));
    return true;
  }
};

// Byte range [first, last) of a tensor view inside its buffer.
void byte_range(const uce_tensor& t, uint64_t* first, uint64_t* last) {
  const View v = make_view(t);
  const uint64_t es = dtype_size(t.dtype);
  *first = uint64_t(v.off) * es;
  *last = v.rows == 0 || v.cols == 0 ? *first
                                     : (uint64_t(v.off) + uint64_t(v.rows - 1) * v.stride + v.cols) * es;
}

// Kernels that read other rows than the one they write (GEMM tiles, attention keys, gathers,
// segment sums) cannot run in place: dst must not overlap those inputs.
bool disjoint_from_dst(Checker& c, std::initializer_list<int> srcs) {
  const uce_tensor* dst = c.op.dst;
  if (!dst->buffer) return true;
  uint64_t d0, d1;
  byte_range(*dst, &d0, &d1);
  for (int i : srcs) {
    const uce_tensor* s = c.src(i);
    if (!s || s->buffer != dst->buffer) continue;
    uint64_t s0, s1;
    byte_range(*s, &s0, &s1);
    if (s0 < d1 && d0 < s1)
      return c.unsupported("dst overlaps srcs[" + std::to_string(i) + "]; this op cannot run in place");
  }
  return true;
}

bool check(Checker& c, const DeviceCaps& caps) {
  const uce_op& op = c.op;
  const uce_tensor* dst = op.dst;
  if (!c.layout(dst, "dst")) return false;
  // Same structural rule as the reference backend: a fused activation exists only where
  // ops.hpp defines one.
  if (op.activation != UCE_ACT_NONE && op.type != UCE_OP_LINEAR && op.type != UCE_OP_LAYERNORM)
    return c.invalid("a fused activation is only defined for linear and layernorm");
  switch (op.type) {
    case UCE_OP_GATHER_ROWS:
    case UCE_OP_SLICE_ROWS: {
      const uce_tensor *table = c.src(0), *idx = c.src(1);
      int64_t n = 0;
      return c.layout(table, "srcs[0] (table)") && c.float_storage(table, "srcs[0] (table)") &&
             c.layout(idx, "srcs[1] (idx)") && c.dtype(idx, "srcs[1] (idx)", UCE_I32) &&
             c.vector(idx, "srcs[1] (idx)", -1, &n) && c.dtype(dst, "dst", UCE_F32) &&
             c.matrix(dst, "dst", n, make_view(*table).cols) && disjoint_from_dst(c, {0, 1});
    }
    case UCE_OP_L2NORM_ROWS:
    case UCE_OP_GELU:
    case UCE_OP_RELU:
    case UCE_OP_SCALE: {
      const uce_tensor* x = c.src(0);
      const View v = x ? make_view(*x) : View{};
      return c.layout(x, "srcs[0] (x)") && c.dtype(x, "srcs[0] (x)", UCE_F32) &&
             c.dtype(dst, "dst", UCE_F32) && c.matrix(dst, "dst", v.rows, v.cols);
    }
    case UCE_OP_LINEAR: {
      const uce_tensor *x = c.src(0), *w = c.src(1), *b = c.src(2);
      if (!c.layout(x, "srcs[0] (x)") || !c.dtype(x, "srcs[0] (x)", UCE_F32) ||
          !c.layout(w, "srcs[1] (W)") || !c.float_storage(w, "srcs[1] (W)") ||
          !c.activation(op.activation))
        return false;
      const View xv = make_view(*x), wv = make_view(*w);
      if (!c.matrix(w, "srcs[1] (W)", -1, xv.cols)) return false;
      if (b && (!c.layout(b, "srcs[2] (b)") || !c.dtype(b, "srcs[2] (b)", UCE_F32) ||
                !c.vector(b, "srcs[2] (b)", wv.rows)))
        return false;
      return c.dtype(dst, "dst", UCE_F32) && c.matrix(dst, "dst", xv.rows, wv.rows) &&
             disjoint_from_dst(c, {0, 1, 2});
    }
    case UCE_OP_LAYERNORM: {
      const uce_tensor *x = c.src(0), *g = c.src(1), *b = c.src(2), *r = c.src(3);
      if (op.act_before_norm != 0)
        return c.unsupported("act_before_norm = 1 is not implemented (ops.hpp: unused now)");
      if (!c.layout(x, "srcs[0] (x)") || !c.dtype(x, "srcs[0] (x)", UCE_F32) ||
          !c.activation(op.activation))
        return false;
      const View xv = make_view(*x);
      if (g && (!c.layout(g, "srcs[1] (gamma)") || !c.dtype(g, "srcs[1] (gamma)", UCE_F32) ||
                !c.vector(g, "srcs[1] (gamma)", xv.cols)))
        return false;
      if (b && (!c.layout(b, "srcs[2] (beta)") || !c.dtype(b, "srcs[2] (beta)", UCE_F32) ||
                !c.vector(b, "srcs[2] (beta)", xv.cols)))
        return false;
      if (r && (!c.layout(r, "srcs[3] (residual)") || !c.dtype(r, "srcs[3] (residual)", UCE_F32) ||
                !c.matrix(r, "srcs[3] (residual)", xv.rows, xv.cols)))
        return false;
      return c.dtype(dst, "dst", UCE_F32) && c.matrix(dst, "dst", xv.rows, xv.cols);
    }
    case UCE_OP_ADD: {
      const uce_tensor *a = c.src(0), *b = c.src(1);
      if (!c.layout(a, "srcs[0] (a)") || !c.dtype(a, "srcs[0] (a)", UCE_F32) ||
          !c.layout(b, "srcs[1] (b)") || !c.dtype(b, "srcs[1] (b)", UCE_F32))
        return false;
      const View av = make_view(*a), bv = make_view(*b);
      if (bv.rows != 1 && bv.rows != av.rows)
        return c.invalid("srcs[1] (b) has " + std::to_string(bv.rows) + " rows; expected " +
                         std::to_string(av.rows) + " or 1");
      return c.matrix(b, "srcs[1] (b)", -1, av.cols) && c.dtype(dst, "dst", UCE_F32) &&
             c.matrix(dst, "dst", av.rows, av.cols);
    }
    case UCE_OP_ATTENTION: {
      const uce_tensor *qkv = c.src(0), *seg = c.src(1), *kb = c.src(2), *km = c.src(3),
                       *qr = c.src(4);
      if (!c.layout(qkv, "srcs[0] (qkv)") || !c.dtype(qkv, "srcs[0] (qkv)", UCE_F32)) return false;
      const View qv = make_view(*qkv);
      if (op.n_heads <= 0) return c.invalid("n_heads " + std::to_string(op.n_heads) + " must be > 0");
      if (qv.cols % 3 != 0 || (qv.cols / 3) % uint32_t(op.n_heads) != 0)
        return c.invalid("srcs[0] (qkv) has " + std::to_string(qv.cols) +
                         " columns; expected 3 * d with d divisible by n_heads " +
                         std::to_string(op.n_heads));
      const uint32_t dm = qv.cols / 3;
      const int hd = int(dm / uint32_t(op.n_heads));
      if (hd < 1 || hd > 256)
        return c.unsupported("head dim " + std::to_string(hd) + " outside [1, 256]");
      const AttentionTiles tiles = attention_tiles(hd, caps.max_work_group);
      if (tiles.qb < 1 || tiles.local_bytes > caps.local_mem)
        return c.unsupported("head dim " + std::to_string(hd) + " needs " +
                             std::to_string(tiles.local_bytes) + " bytes of local memory; device has " +
                             std::to_string(caps.local_mem));
      if (!c.layout(seg, "srcs[1] (seg)") || !c.dtype(seg, "srcs[1] (seg)", UCE_I32)) return false;
      int64_t seg_len = 0;
      if (!c.vector(seg, "srcs[1] (seg)", -1, &seg_len)) return false;
      if (seg_len < 1) return c.invalid("srcs[1] (seg) is empty; expected B+1 >= 1 entries");
      if (kb && (!c.layout(kb, "srcs[2] (key_bias)") || !c.dtype(kb, "srcs[2] (key_bias)", UCE_F32) ||
                 !c.vector(kb, "srcs[2] (key_bias)", qv.rows)))
        return false;
      if (km && (!c.layout(km, "srcs[3] (key_mask)") || !c.dtype(km, "srcs[3] (key_mask)", UCE_U8) ||
                 !c.vector(km, "srcs[3] (key_mask)", qv.rows)))
        return false;
      int64_t q = qv.rows;
      if (qr && (!c.layout(qr, "srcs[4] (query_rows)") ||
                 !c.dtype(qr, "srcs[4] (query_rows)", UCE_I32) ||
                 !c.vector(qr, "srcs[4] (query_rows)", -1, &q)))
        return false;
      return c.dtype(dst, "dst", UCE_F32) && c.matrix(dst, "dst", q, dm) &&
             disjoint_from_dst(c, {0, 1, 2, 3, 4});
    }
    case UCE_OP_COPY: {
      const uce_tensor* x = c.src(0);
      if (!c.layout(x, "srcs[0] (x)")) return false;
      const View xv = make_view(*x);
      const bool convertible = (x->dtype == UCE_F32 || x->dtype == UCE_F16 || x->dtype == UCE_BF16) &&
                               (dst->dtype == UCE_F32 || dst->dtype == UCE_F16 ||
                                dst->dtype == UCE_BF16);
      if (!convertible && x->dtype != dst->dtype)
        return c.unsupported(std::string("conversion ") + dtype_name(x->dtype) + " -> " +
                             dtype_name(dst->dtype) + " (only among f32, f16, bf16)");
      return c.matrix(dst, "dst", xv.rows, xv.cols);
    }
    case UCE_OP_ADD_ROWS_PE: {
      const uce_tensor *x = c.src(0), *pe = c.src(1), *pos = c.src(2);
      if (!c.layout(x, "srcs[0] (x)") || !c.dtype(x, "srcs[0] (x)", UCE_F32) ||
          !c.layout(pe, "srcs[1] (pe)") || !c.dtype(pe, "srcs[1] (pe)", UCE_F32) ||
          !c.layout(pos, "srcs[2] (pos)") || !c.dtype(pos, "srcs[2] (pos)", UCE_I32))
        return false;
      const View xv = make_view(*x);
      return c.matrix(pe, "srcs[1] (pe)", -1, xv.cols) && c.vector(pos, "srcs[2] (pos)", xv.rows) &&
             c.dtype(dst, "dst", UCE_F32) && c.matrix(dst, "dst", xv.rows, xv.cols);
    }
    case UCE_OP_SEGMENT_MEAN: {
      const uce_tensor *x = c.src(0), *seg = c.src(1);
      if (!c.layout(x, "srcs[0] (x)") || !c.dtype(x, "srcs[0] (x)", UCE_F32) ||
          !c.layout(seg, "srcs[1] (seg)") || !c.dtype(seg, "srcs[1] (seg)", UCE_I32))
        return false;
      int64_t seg_len = 0;
      if (!c.vector(seg, "srcs[1] (seg)", -1, &seg_len)) return false;
      if (seg_len < 1) return c.invalid("srcs[1] (seg) is empty; expected B+1 >= 1 entries");
      return c.dtype(dst, "dst", UCE_F32) &&
             c.matrix(dst, "dst", seg_len - 1, make_view(*x).cols) && disjoint_from_dst(c, {0, 1});
    }
    default:
      return c.unsupported("op type " + std::to_string(op.type) + " is not implemented");
  }
}

}  // namespace

View make_view(const uce_tensor& t) {
  View v;
  v.mem = t.buffer ? t.buffer->mem : nullptr;
  const size_t es = dtype_size(t.dtype);
  v.off = static_cast<uint32_t>(es ? t.offset / es : 0);
  v.dtype = t.dtype;
  if (t.ndim == 2) {
    v.rows = static_cast<uint32_t>(t.ne[0]);
    v.cols = static_cast<uint32_t>(t.ne[1]);
    v.stride = static_cast<uint32_t>(t.ne[0] > 1 ? t.stride[0] : t.ne[1]);
  } else {
    v.rows = 1;
    v.cols = static_cast<uint32_t>(t.ne[0]);
    v.stride = v.cols;
  }
  return v;
}

AttentionTiles attention_tiles(int head_dim, size_t max_work_group) {
  AttentionTiles t;
  t.qb = 64;
  while (t.qb > 1 && static_cast<size_t>(t.qb) > max_work_group) t.qb /= 2;
  t.kb = head_dim <= 64 ? 32 : head_dim <= 128 ? 16 : 8;
  // ks + vs tiles, key additive terms, the score tile and the range pair (attention.cl).
  t.local_bytes = sizeof(float) * (2 * size_t(t.kb) * head_dim + t.kb + size_t(t.kb) * t.qb) +
                  2 * sizeof(int);
  return t;
}

ClStatus check_op(const DeviceCaps& caps, const uce_op& op, bool need_buffers) {
  if (op.struct_size < sizeof(uce_op))
    return ClStatus::fail(UCE_ERR_INVALID_ARGUMENT,
                          "opencl: uce_op.struct_size " + std::to_string(op.struct_size) +
                              " is smaller than this plugin's " + std::to_string(sizeof(uce_op)));
  if (op.n_srcs < 0 || op.n_srcs > UCE_MAX_SRCS)
    return ClStatus::fail(UCE_ERR_INVALID_ARGUMENT,
                          "opencl: n_srcs " + std::to_string(op.n_srcs) + " outside [0, 6]");
  Checker c{op, need_buffers, {}, UCE_OK};
  if (check(c, caps)) return ClStatus::success();
  return ClStatus::fail(c.code, c.error);
}

}  // namespace uce::ocl
