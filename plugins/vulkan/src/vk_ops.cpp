// vk_ops.cpp — checks every op against ops.hpp (shapes, dtypes, strides, device limits) and
// records it as one or more dispatches of the matching shader variant.
#include "vk_ops.hpp"

#include <cstdio>
#include <cstring>
#include <string>

#include "uce/ops.hpp"

namespace uce_vk {
namespace {

// ---- tensor views ---------------------------------------------------------------------------

// A tensor seen as rows x cols with a row stride (1-D tensors are one row).
struct Mat {
  uint32_t rows = 0, cols = 0, stride = 0;
};

bool fits_u32(int64_t v) { return v >= 0 && v <= 0xffffffffll; }

bool as_mat(const uce_tensor* t, Mat& m) {
  if (!t) return false;
  if (t->ndim == 2) {
    if (t->stride[1] != 1 || t->stride[0] < t->ne[1] || !fits_u32(t->ne[0]) || !fits_u32(t->ne[1]) ||
        !fits_u32(t->stride[0]))
      return false;
    m = {static_cast<uint32_t>(t->ne[0]), static_cast<uint32_t>(t->ne[1]), static_cast<uint32_t>(t->stride[0])};
    return true;
  }
  if (t->ndim == 1) {
    if ((t->ne[0] > 1 && t->stride[0] != 1) || !fits_u32(t->ne[0])) return false;
    m = {1u, static_cast<uint32_t>(t->ne[0]), static_cast<uint32_t>(t->ne[0])};
    return true;
  }
  return false;
}

bool is_vec(const uce_tensor* t, int dtype, int64_t len) {
  return t && t->ndim == 1 && t->dtype == dtype && (len < 0 || t->ne[0] == len) && fits_u32(t->ne[0]) &&
         (t->ne[0] <= 1 || t->stride[0] == 1);
}

// Bytes from the tensor's first element to one past its last.
uint64_t extent_bytes(const uce_tensor* t) {
  uint64_t last = 0;
  for (int i = 0; i < t->ndim; ++i) {
    if (t->ne[i] == 0) return 0;
    last += static_cast<uint64_t>(t->ne[i] - 1) * static_cast<uint64_t>(t->stride[i]);
  }
  return (last + 1) * uce::dtype_size(t->dtype);
}

struct Why {
  char* buf;
  size_t len;
  bool no(const char* fmt, ...) __attribute__((format(printf, 2, 3))) {
    if (buf && len) {
      va_list ap;
      va_start(ap, fmt);
      std::vsnprintf(buf, len, fmt, ap);
      va_end(ap);
    }
    return false;
  }
};

bool is_float_storage(int dt) { return dt == UCE_F32 || dt == UCE_F16 || dt == UCE_BF16; }

const char* storage_suffix(int dt) {
  return dt == UCE_F16 ? "f16" : dt == UCE_BF16 ? "bf16" : dt == UCE_I32 ? "i32" : "f32";
}

// Attention variant: queries per workgroup, head-dim bound, shared bytes (must match
// CMakeLists.txt and the shaders' shared arrays).
struct AttnVariant {
  const char* name;
  uint32_t bq, hdmax, shared_bytes;
  bool tensor_cores = false;  // reads an fp16 copy of qkv when head slices are 16-byte aligned
};
// attention.comp: BQ queries x BK keys, 4-byte words of Qs, Ks (+1 pad), Vs, Ss, key_add, 6 per-query, 2.
constexpr uint32_t attn_generic_bytes(uint32_t bq, uint32_t bk, uint32_t hdmax) {
  return 4 * (bq * hdmax + bk * (hdmax + 1) + bk * hdmax + bq * bk + bk + 6 * bq + 2);
}
constexpr AttnVariant k_attn_q16_hd128{"attention_q16_hd128", 16, 128, attn_generic_bytes(16, 16, 128)};
constexpr AttnVariant k_attn_q1_hd64{"attention_q1_hd64", 1, 64, attn_generic_bytes(1, 32, 64)};
// attention_rowq.comp: one query per invocation, 64 per workgroup; K/V blocks of 32 keys as vec4.
constexpr AttnVariant k_attn_rowq_hd64{"attention_rowq_hd64", 64, 64, 2 * 32 * 64 * 4 + 32 * 4 + 2 * 64 * 4 + 8};
// attention_tiled_f32.comp: 64 queries x TK-key tiles, 128 invocations (Q, K/P, V tiles, partial
// maxima, key terms, corrections, per-query lo/hi/row, 8 partial ranges). TK 32 where 36 KiB of
// shared memory are allowed, else TK 24 (31904 bytes: fits lavapipe's 32 KiB).
constexpr uint32_t attn_tiled_f32_bytes(uint32_t tk) { return 4 * (64 * 64 + 2 * tk * 64 + 64 * 8 + tk + 64 + 3 * 64 + 16); }
constexpr AttnVariant k_attn_tiled_f32_k32_hd64{"attention_tiled_f32_k32_hd64", 64, 64, attn_tiled_f32_bytes(32)};
constexpr AttnVariant k_attn_tiled_f32_hd64{"attention_tiled_f32_hd64", 64, 64, attn_tiled_f32_bytes(24)};
// attention_coopmat_nv.comp: HD 64, BKEY 64, 4 subgroups x 16 queries (Ks, Vs, Ps, Ss, key_add, ranges).
// The same shader rewritten to KHR cooperative matrices (16x8x16): same shared arrays.
constexpr uint32_t k_attn_cm_bytes = 2 * 64 * 72 * 2 + 4 * 16 * 72 * 2 + 4 * 16 * 68 * 4 + 64 * 4 + 2 * 64 * 4 + 8;
constexpr AttnVariant k_attn_cm_hd64{"attention_cm_nv_hd64", 64, 64, k_attn_cm_bytes, true};
constexpr AttnVariant k_attn_cm_khr_hd64{"attention_cm_khr_hd64", 64, 64, k_attn_cm_bytes, true};
// attention_coopmat_regs.comp (ROW_TILES 2): 128 queries per workgroup, S/P/O in registers (Ks, Vs,
// Q staging, key_add, ranges); one shader per order of the A fragment's components.
constexpr uint32_t k_attn_cmr_bytes = 2 * 64 * 72 * 2 + 128 * 72 * 2 + 64 * 4 + 2 * 128 * 4 + 8;
constexpr AttnVariant k_attn_cmr_khr_hd64{"attention_cmr_khr_hd64", 128, 64, k_attn_cmr_bytes, true};
constexpr AttnVariant k_attn_cmr_rows_khr_hd64{"attention_cmr_rows_khr_hd64", 128, 64, k_attn_cmr_bytes, true};

const AttnVariant& pick_attention(const Context& ctx, uint32_t hd, bool sparse_queries) {
  if (hd > 64) return k_attn_q16_hd128;
  // A few scattered query rows (e.g. only the CLS rows): one query per workgroup, so a workgroup
  // never streams the keys of several sequences.
  if (sparse_queries) return k_attn_q1_hd64;
  if (ctx.attention_regs != MmaAOrder::kNone && k_attn_cmr_bytes <= ctx.caps.max_shared)
    return ctx.attention_regs == MmaAOrder::kRowsInner ? k_attn_cmr_khr_hd64 : k_attn_cmr_rows_khr_hd64;
  if (ctx.attention_coopmat && k_attn_cm_bytes <= ctx.caps.max_shared)
    return ctx.coopmat_api == "khr" ? k_attn_cm_khr_hd64 : k_attn_cm_hd64;
  for (const AttnVariant* v : {&k_attn_tiled_f32_k32_hd64, &k_attn_tiled_f32_hd64})
    if (v->shared_bytes <= ctx.caps.max_shared) return *v;
  return k_attn_rowq_hd64;
}

// ---- the check shared by supports_op and compute ----------------------------------------------

bool check_op(const Context& ctx, const uce_op* op, Why why) {
  if (!op) return why.no("op is NULL");
  if (op->struct_size < offsetof(uce_op, name)) return why.no("uce_op.struct_size %u too small", op->struct_size);
  const uce_tensor* const* s = op->srcs;
  const int n_srcs = op->n_srcs;
  auto src = [&](int i) -> const uce_tensor* { return i < n_srcs && i < UCE_MAX_SRCS ? s[i] : nullptr; };
  const uce_tensor* dst = op->dst;
  if (!dst) return why.no("dst is NULL");
  // Every bound tensor must fit one descriptor range (lavapipe: 128 MiB).
  for (int i = -1; i < n_srcs && i < UCE_MAX_SRCS; ++i) {
    const uce_tensor* t = i < 0 ? dst : s[i];
    if (!t) continue;
    if (t->ndim < 1 || t->ndim > 2) return why.no("tensor %d has ndim %d (1 or 2 supported)", i, t->ndim);
    // The bound window starts up to storage_align - 1 bytes early and is rounded up to words.
    if (extent_bytes(t) + ctx.caps.storage_align + 4 > ctx.caps.max_storage_range)
      return why.no("tensor %d spans %llu bytes, over the device's maxStorageBufferRange %llu", i,
                    static_cast<unsigned long long>(extent_bytes(t)),
                    static_cast<unsigned long long>(ctx.caps.max_storage_range));
    if ((t->dtype == UCE_F16 || t->dtype == UCE_BF16) && !ctx.caps.storage16)
      return why.no("%s tensors need storageBuffer16BitAccess + shaderInt16, which this device lacks",
                    uce::dtype_name(t->dtype));
  }
  Mat d, x, w;
  const bool dst_ok = as_mat(dst, d) && dst->dtype == UCE_F32;
  switch (op->type) {
    case UCE_OP_GATHER_ROWS:
    case UCE_OP_SLICE_ROWS: {
      const uce_tensor* table = src(0);
      if (!as_mat(table, x) || !is_float_storage(table->dtype)) return why.no("table must be 2-D f32/f16/bf16");
      if (!is_vec(src(1), UCE_I32, -1)) return why.no("idx must be 1-D i32");
      if (!dst_ok || dst->ndim != 2 || d.rows != src(1)->ne[0] || d.cols != x.cols)
        return why.no("dst must be f32 [n_idx, table cols]");
      return true;
    }
    case UCE_OP_L2NORM_ROWS:
    case UCE_OP_GELU:
    case UCE_OP_RELU:
    case UCE_OP_SCALE:
      if (!as_mat(src(0), x) || src(0)->dtype != UCE_F32) return why.no("x must be f32 1-D/2-D");
      if (!dst_ok || d.rows != x.rows || d.cols != x.cols) return why.no("dst must be f32 shaped like x");
      return true;
    case UCE_OP_LINEAR: {
      if (!as_mat(src(0), x) || src(0)->dtype != UCE_F32 || src(0)->ndim != 2) return why.no("x must be 2-D f32");
      if (!as_mat(src(1), w) || src(1)->ndim != 2 || !is_float_storage(src(1)->dtype))
        return why.no("W must be 2-D f32/f16/bf16");
      if (w.cols != x.cols) return why.no("W has %u columns, x has %u (K must match)", w.cols, x.cols);
      if (src(2) && !is_vec(src(2), UCE_F32, w.rows)) return why.no("b must be f32 [%u]", w.rows);
      if (!dst_ok || dst->ndim != 2 || d.rows != x.rows || d.cols != w.rows) return why.no("dst must be f32 [n, M]");
      if (op->activation < UCE_ACT_NONE || op->activation > UCE_ACT_RELU) return why.no("unknown activation %d", op->activation);
      return true;
    }
    case UCE_OP_LAYERNORM: {
      if (!as_mat(src(0), x) || src(0)->dtype != UCE_F32) return why.no("x must be f32");
      if (!is_vec(src(1), UCE_F32, x.cols) || !is_vec(src(2), UCE_F32, x.cols))
        return why.no("gamma and beta must be f32 [%u]", x.cols);
      Mat r;
      if (src(3) && (!as_mat(src(3), r) || src(3)->dtype != UCE_F32 || r.rows != x.rows || r.cols != x.cols))
        return why.no("residual must be f32 shaped like x");
      if (!dst_ok || d.rows != x.rows || d.cols != x.cols) return why.no("dst must be f32 shaped like x");
      if (op->activation < UCE_ACT_NONE || op->activation > UCE_ACT_RELU) return why.no("unknown activation %d", op->activation);
      if (op->act_before_norm) return why.no("act_before_norm = 1 is not implemented");
      return true;
    }
    case UCE_OP_ADD: {
      Mat b;
      if (!as_mat(src(0), x) || src(0)->dtype != UCE_F32) return why.no("a must be f32");
      if (!as_mat(src(1), b) || src(1)->dtype != UCE_F32 || b.cols != x.cols || (b.rows != x.rows && b.rows != 1))
        return why.no("b must be f32 [n,D] or [1,D]");
      if (!dst_ok || d.rows != x.rows || d.cols != x.cols) return why.no("dst must be f32 shaped like a");
      return true;
    }
    case UCE_OP_ADD_ROWS_PE: {
      Mat pe;
      if (!as_mat(src(0), x) || src(0)->dtype != UCE_F32) return why.no("x must be f32");
      if (!as_mat(src(1), pe) || src(1)->dtype != UCE_F32 || src(1)->ndim != 2 || pe.cols != x.cols)
        return why.no("pe must be f32 [P, D]");
      if (!is_vec(src(2), UCE_I32, x.rows)) return why.no("pos must be i32 [%u]", x.rows);
      if (!dst_ok || d.rows != x.rows || d.cols != x.cols) return why.no("dst must be f32 shaped like x");
      return true;
    }
    case UCE_OP_COPY: {
      if (as_mat(src(0), x) && src(0)->dtype == UCE_I32) {  // bit copy, no conversion
        if (!as_mat(dst, d) || dst->dtype != UCE_I32 || d.rows != x.rows || d.cols != x.cols)
          return why.no("dst of an i32 copy must be i32 shaped like x");
        return true;
      }
      if (!as_mat(src(0), x) || !is_float_storage(src(0)->dtype)) return why.no("x must be f32/f16/bf16/i32");
      if (!as_mat(dst, d) || !is_float_storage(dst->dtype) || d.rows != x.rows || d.cols != x.cols)
        return why.no("dst must be f32/f16/bf16 shaped like x");
      return true;
    }
    case UCE_OP_SEGMENT_MEAN: {
      if (!as_mat(src(0), x) || src(0)->dtype != UCE_F32) return why.no("x must be f32");
      if (!is_vec(src(1), UCE_I32, -1) || src(1)->ne[0] < 1) return why.no("seg must be i32 [B+1]");
      if (!dst_ok || d.rows != src(1)->ne[0] - 1 || d.cols != x.cols) return why.no("dst must be f32 [B, D]");
      return true;
    }
    case UCE_OP_ATTENTION: {
      Mat qkv;
      if (!as_mat(src(0), qkv) || src(0)->dtype != UCE_F32 || src(0)->ndim != 2) return why.no("qkv must be 2-D f32");
      if (op->n_heads <= 0 || qkv.cols % 3 != 0 || (qkv.cols / 3) % static_cast<uint32_t>(op->n_heads) != 0)
        return why.no("qkv columns %u are not 3 * heads(%d) * head_dim", qkv.cols, op->n_heads);
      const uint32_t dm = qkv.cols / 3, hd = dm / static_cast<uint32_t>(op->n_heads);
      if (hd > 128) return why.no("head dim %u > 128 is not implemented", hd);
      if (!is_vec(src(1), UCE_I32, -1) || src(1)->ne[0] < 1) return why.no("seg must be i32 [B+1]");
      if (src(1)->ne[0] == 1 && qkv.rows > 0) return why.no("seg has no sequence but qkv has %u rows", qkv.rows);
      if (src(2) && !is_vec(src(2), UCE_F32, qkv.rows)) return why.no("key_bias must be f32 [%u]", qkv.rows);
      if (src(3) && !is_vec(src(3), UCE_U8, qkv.rows)) return why.no("key_mask must be u8 [%u]", qkv.rows);
      if (src(4) && !is_vec(src(4), UCE_I32, -1)) return why.no("query_rows must be i32 [Q]");
      const uint32_t nq = src(4) ? static_cast<uint32_t>(src(4)->ne[0]) : qkv.rows;
      if (!dst_ok || dst->ndim != 2 || d.rows != nq || d.cols != dm) return why.no("dst must be f32 [%u, %u]", nq, dm);
      const AttnVariant& v = pick_attention(ctx, hd, src(4) != nullptr);
      if (v.shared_bytes > ctx.caps.max_shared)
        return why.no("attention needs %u bytes of shared memory, device has %u", v.shared_bytes, ctx.caps.max_shared);
      return true;
    }
    default:
      return why.no("op type %d is not implemented", op->type);
  }
}

// ---- recording --------------------------------------------------------------------------------

struct Push {
  uint32_t words[k_push_bytes / 4] = {};
  uint32_t n = 0;
  Push& u(uint64_t v) { words[n++] = static_cast<uint32_t>(v); return *this; }
  Push& f(float v) { std::memcpy(&words[n++], &v, 4); return *this; }
};

struct Binder {
  Context& ctx;
  uce_error* err;
  VkDescriptorBufferInfo infos[k_bindings];
  uint32_t elem_off[k_bindings] = {};
  explicit Binder(Context& c, uce_error* e) : ctx(c), err(e) {
    for (auto& i : infos) i = {c.dummy.buffer, 0, VK_WHOLE_SIZE};
  }
  // Binds t at slot; its first element is elem_off[slot] elements (bytes for u8) into the range.
  uce_status bind(uint32_t slot, const uce_tensor* t) {
    if (!t) return UCE_OK;  // absent optional input: the dummy buffer stays bound
    if (!t->buffer) return fail(err, UCE_ERR_INVALID_ARGUMENT, "vulkan: tensor in slot %u has no buffer", slot);
    const Buffer& b = t->buffer->vk;
    const size_t es = uce::dtype_size(t->dtype);
    const uint64_t ext = extent_bytes(t);
    if (t->offset % es != 0)
      return fail(err, UCE_ERR_INVALID_ARGUMENT, "vulkan: tensor offset %zu is not a multiple of its %zu-byte dtype", t->offset, es);
    if (t->offset > b.size || ext > b.size - t->offset)
      return fail(err, UCE_ERR_INVALID_ARGUMENT, "vulkan: tensor of %llu bytes at offset %zu overruns its buffer of %llu bytes",
                  static_cast<unsigned long long>(ext), t->offset, static_cast<unsigned long long>(b.size));
    const uint64_t base = t->offset - t->offset % ctx.caps.storage_align;
    uint64_t range = (t->offset - base + ext + 3) & ~uint64_t(3);
    if (range == 0) range = 4;
    if (base + range > b.alloc) range = b.alloc - base;
    infos[slot] = {b.buffer, base, range};
    elem_off[slot] = static_cast<uint32_t>((t->offset - base) / es);
    return UCE_OK;
  }
};

// Dispatches (gx, groups_y) in slices of at most maxComputeWorkGroupCount[1] workgroups; the first
// push word of every shader is the first row of the slice (group index * rows_per_group).
uce_status dispatch_y(Context& ctx, const std::string& shader, const Binder& b, Push push, uint32_t gx,
                      uint64_t groups_y, uint32_t rows_per_group, uce_error* err) {
  if (gx == 0 || groups_y == 0) return UCE_OK;
  VkPipeline pipeline;
  uce_status st = get_pipeline(ctx, shader, &pipeline, err);
  if (st != UCE_OK) return st;
  const uint64_t max_y = ctx.caps.max_groups[1];
  // Profile label: the variant and its grid (empty, never built, when profiling is off).
  std::string label;
  if (ctx.profiler) label = shader + " [" + std::to_string(gx) + "x" + std::to_string(groups_y) + "]";
  for (uint64_t g0 = 0; g0 < groups_y; g0 += max_y) {
    const uint32_t gy = static_cast<uint32_t>(std::min<uint64_t>(groups_y - g0, max_y));
    push.words[0] = static_cast<uint32_t>(g0 * rows_per_group);
    st = record_dispatch(ctx, pipeline, b.infos, push.words, push.n * 4, gx, gy, 1, label.c_str(), err);
    if (st != UCE_OK) return st;
  }
  return UCE_OK;
}

uint32_t ceil_div(uint64_t a, uint64_t b) { return static_cast<uint32_t>((a + b - 1) / b); }

// Records split_f16x2.comp: f32 src [rows, cols] -> hi/lo fp16 rows and row scales in `to`.
uce_status record_split(Context& ctx, const uce_tensor* src, const SplitStorage& to, uce_error* err) {
  Mat m;
  as_mat(src, m);
  Binder b(ctx, err);
  uce_status st = UCE_OK;
  if ((st = b.bind(0, src)) != UCE_OK || (st = b.bind(1, &to.hl)) != UCE_OK || (st = b.bind(2, &to.scale)) != UCE_OK)
    return st;
  Push p;
  const bool by4 = m.cols % 4 == 0 && m.stride % 4 == 0 && b.elem_off[0] % 4 == 0 && b.elem_off[1] % 4 == 0;
  p.u(0).u(m.cols).u(m.rows).u(b.elem_off[0]).u(m.stride).u(b.elem_off[1]).u(b.elem_off[2]).u(by4 ? 1 : 0);
  return dispatch_y(ctx, "split_f16x2", b, p, 1, m.rows, 1, err);
}

// Whether LINEAR runs as fp32 on fp16 tensor cores: the path is chosen, x and W are f32, and rows
// of the splits are 16-byte aligned (K a multiple of 8).
bool split_linear_applies(const Context& ctx, const uce_op* op) {
  const uce_tensor* x = op->srcs[0];
  const uce_tensor* w = op->srcs[1];
  return !ctx.split_gemm.empty() && x->dtype == UCE_F32 && w->dtype == UCE_F32 && x->ne[0] > 0 && x->ne[1] % 8 == 0;
}

// LINEAR as fp32 on fp16 tensor cores (linear_coopmat_split_nv.comp): W's split is made once and
// kept (vk_weights.cpp), x's in the scratch just before the GEMM.
uce_status record_split_linear(Context& ctx, const uce_op* op, uce_error* err) {
  const uce_tensor *xt = op->srcs[0], *wt = op->srcs[1], *bias = op->n_srcs > 2 ? op->srcs[2] : nullptr;
  Mat x, w, d;
  as_mat(xt, x);
  as_mat(wt, w);
  as_mat(op->dst, d);
  SplitStorage xs, ws;
  uint64_t* stale = nullptr;
  uce_status st = split_weight_storage(ctx, wt, &ws, &stale, err);
  if (st != UCE_OK) return st;
  if (stale) {
    if ((st = record_split(ctx, wt, ws, err)) != UCE_OK) return st;
    *stale = wt->buffer->vk.generation;
  }
  if ((st = split_activation_storage(ctx, xt, &xs, err)) != UCE_OK) return st;
  if ((st = record_split(ctx, xt, xs, err)) != UCE_OK) return st;
  Binder b(ctx, err);
  const uce_tensor* slots[6] = {&xs.hl, &ws.hl, bias, op->dst, &xs.scale, &ws.scale};
  for (uint32_t i = 0; i < 6; ++i)
    if ((st = b.bind(i, slots[i])) != UCE_OK) return st;
  Push p;
  p.u(0).u(x.rows).u(w.rows).u(x.cols).u(b.elem_off[0]).u(x.cols).u(b.elem_off[1]).u(w.cols);
  p.u(b.elem_off[2]).u(bias ? 1 : 0).u(static_cast<uint32_t>(op->activation)).u(b.elem_off[3]).u(d.stride);
  p.u(b.elem_off[4]).u(b.elem_off[5]);
  return dispatch_y(ctx, ctx.split_gemm, b, p, ceil_div(w.rows, 128), ceil_div(x.rows, 128), 128, err);
}

}  // namespace

int ops_supports(const Context& ctx, const uce_op* op, char* why, size_t why_len) {
  return check_op(ctx, op, Why{why, why_len}) ? 1 : 0;
}

uce_status ops_compute(Context& ctx, const uce_op* op, uce_error* err) {
  char why[256] = "";
  if (!check_op(ctx, op, Why{why, sizeof(why)}))
    return fail(err, UCE_ERR_UNSUPPORTED, "vulkan: %s '%s': %s", op ? uce::op_type_name(op->type) : "op",
                op && op->struct_size >= offsetof(uce_op, name) + sizeof(char*) && op->name ? op->name : "?", why);
  const uce_tensor* dst = op->dst;
  auto src = [&](int i) -> const uce_tensor* { return i < op->n_srcs ? op->srcs[i] : nullptr; };
  // Any fp16 copy made from the destination buffer is stale from now on.
  if (dst->buffer) ++dst->buffer->vk.generation;
  Binder b(ctx, err);
  Mat x, d;
  as_mat(dst, d);
  uce_status st = UCE_OK;
  auto bind_all = [&](std::initializer_list<const uce_tensor*> ts) {
    uint32_t slot = 0;
    for (const uce_tensor* t : ts) {
      if ((st = b.bind(slot++, t)) != UCE_OK) return false;
    }
    return true;
  };
  switch (op->type) {
    case UCE_OP_GATHER_ROWS:
    case UCE_OP_SLICE_ROWS: {
      as_mat(src(0), x);
      if (!bind_all({src(0), src(1), dst})) return st;
      Push p;
      p.u(0).u(x.cols).u(x.rows).u(b.elem_off[0]).u(x.stride).u(b.elem_off[1]).u(b.elem_off[2]).u(d.stride);
      return dispatch_y(ctx, std::string("gather_rows_") + storage_suffix(src(0)->dtype), b, p, ceil_div(x.cols, 256),
                        d.rows, 1, err);
    }
    case UCE_OP_L2NORM_ROWS: {
      as_mat(src(0), x);
      if (!bind_all({src(0), dst})) return st;
      Push p;
      p.u(0).u(x.cols).u(b.elem_off[0]).u(x.stride).u(b.elem_off[1]).u(d.stride).f(op->eps);
      return dispatch_y(ctx, "l2norm_rows", b, p, x.cols ? 1 : 0, x.rows, 1, err);
    }
    case UCE_OP_GELU:
    case UCE_OP_RELU:
    case UCE_OP_SCALE: {
      as_mat(src(0), x);
      if (!bind_all({src(0), dst})) return st;
      const uint32_t mode = op->type == UCE_OP_GELU ? 0 : op->type == UCE_OP_RELU ? 1 : 2;
      Push p;
      p.u(0).u(x.cols).u(mode).u(b.elem_off[0]).u(x.stride).u(b.elem_off[1]).u(d.stride).f(op->scale);
      return dispatch_y(ctx, "eltwise", b, p, ceil_div(x.cols, 256), x.rows, 1, err);
    }
    case UCE_OP_LINEAR: {
      if (split_linear_applies(ctx, op)) return record_split_linear(ctx, op, err);
      Mat w;
      as_mat(src(0), x);
      const bool coopmat = !ctx.coopmat_variant.empty();
      // The coopmat GEMM reads fp16: an f32 W is converted once and its copy reused (vk_weights.cpp).
      uce_tensor w16{}, x16{};
      const uce_tensor* wt_src = src(1);
      const uce_tensor* x_src = src(0);
      if (coopmat && wt_src->dtype == UCE_F32 && x.rows > 0) {
        if ((st = fp16_weight_view(ctx, wt_src, &w16, err)) != UCE_OK) return st;
        wt_src = &w16;
      }
      as_mat(wt_src, w);
      // Coopmat with 16-byte reads of fp16 x and W: the f32 activations go through a contiguous
      // fp16 copy first (linear_coopmat_vec_nv.comp says why); W rows must start on 16 bytes.
      const bool vec = coopmat && x.rows > 0 && wt_src->dtype == UCE_F16 && x.cols % 8 == 0 &&
                       wt_src->offset % 16 == 0 && w.stride % 8 == 0;
      if (vec) {
        if ((st = fp16_activation_view(ctx, x_src, &x16, err)) != UCE_OK) return st;
        x_src = &x16;
        as_mat(x_src, x);
      }
      if (!bind_all({x_src, wt_src, src(2), dst})) return st;
      Push p;
      p.u(0).u(x.rows).u(w.rows).u(x.cols).u(b.elem_off[0]).u(x.stride).u(b.elem_off[1]).u(w.stride);
      p.u(b.elem_off[2]).u(src(2) ? 1 : 0).u(static_cast<uint32_t>(op->activation)).u(b.elem_off[3]).u(d.stride);
      const char* wt = storage_suffix(wt_src->dtype);
      // Scalar path: 128x128 tiles (8x8 per invocation) once there is more than one 64-row tile.
      const bool big = x.rows > 64;
      const std::string cm = "linear_cm_" + ctx.coopmat_api + "_";
      const std::string shader = vec       ? cm + (ctx.gemm_regs_epilogue ? "vecr_" : "vec_") + ctx.coopmat_variant
                                 : coopmat ? cm + wt + "_" + ctx.coopmat_variant
                                 : big     ? std::string("linear128_") + wt
                                           : std::string("linear_") + wt;
      const uint32_t tile = coopmat || big ? 128 : 64;  // output tile edge of the chosen shader
      return dispatch_y(ctx, shader, b, p, ceil_div(w.rows, tile), ceil_div(x.rows, tile), tile, err);
    }
    case UCE_OP_LAYERNORM: {
      Mat r{};
      as_mat(src(0), x);
      if (src(3)) as_mat(src(3), r);
      if (!bind_all({src(0), src(1), src(2), src(3), dst})) return st;
      Push p;
      p.u(0).u(x.cols).u(src(3) ? 1 : 0).u(static_cast<uint32_t>(op->activation));
      p.u(b.elem_off[0]).u(x.stride).u(b.elem_off[1]).u(b.elem_off[2]).u(b.elem_off[3]).u(r.stride);
      p.u(b.elem_off[4]).u(d.stride).f(op->eps).f(op->scale);
      return dispatch_y(ctx, "layernorm", b, p, x.cols ? 1 : 0, x.rows, 1, err);
    }
    case UCE_OP_ADD:
    case UCE_OP_ADD_ROWS_PE: {
      Mat bm;
      as_mat(src(0), x);
      as_mat(src(1), bm);
      const bool pe = op->type == UCE_OP_ADD_ROWS_PE;
      if (!bind_all({src(0), src(1), pe ? src(2) : nullptr, dst})) return st;
      const uint32_t mode = pe ? 2 : (bm.rows == x.rows ? 0 : 1);
      Push p;
      p.u(0).u(x.cols).u(mode).u(bm.rows).u(b.elem_off[0]).u(x.stride).u(b.elem_off[1]).u(bm.stride);
      p.u(b.elem_off[2]).u(b.elem_off[3]).u(d.stride);
      return dispatch_y(ctx, "add_rows", b, p, ceil_div(x.cols, 256), x.rows, 1, err);
    }
    case UCE_OP_COPY: {
      as_mat(src(0), x);
      if (!bind_all({src(0), dst})) return st;
      Push p;
      p.u(0).u(x.cols).u(b.elem_off[0]).u(x.stride).u(b.elem_off[1]).u(d.stride);
      // f32 -> f16 with aligned rows (the fp16 activation copies): 8 columns per invocation.
      if (src(0)->dtype == UCE_F32 && dst->dtype == UCE_F16 && x.cols % 8 == 0 && b.elem_off[0] % 4 == 0 &&
          x.stride % 4 == 0 && b.elem_off[1] % 8 == 0 && d.stride % 8 == 0)
        return dispatch_y(ctx, "copy_f32_f16_x8", b, p, ceil_div(x.cols / 8, 256), x.rows, 1, err);
      return dispatch_y(ctx, std::string("copy_") + storage_suffix(src(0)->dtype) + "_" + storage_suffix(dst->dtype), b, p,
                        ceil_div(x.cols, 256), x.rows, 1, err);
    }
    case UCE_OP_SEGMENT_MEAN: {
      as_mat(src(0), x);
      if (!bind_all({src(0), src(1), dst})) return st;
      Push p;
      p.u(0).u(x.cols).u(b.elem_off[0]).u(x.stride).u(b.elem_off[1]).u(b.elem_off[2]).u(d.stride);
      return dispatch_y(ctx, "segment_mean", b, p, ceil_div(x.cols, 256), d.rows, 1, err);
    }
    case UCE_OP_ATTENTION: {
      as_mat(src(0), x);
      const uint32_t dm = x.cols / 3, heads = static_cast<uint32_t>(op->n_heads), hd = dm / heads;
      const uint32_t nq = d.rows;
      const AttnVariant& v = pick_attention(ctx, hd, src(4) != nullptr);
      // The tensor-core kernel reads an fp16 copy of qkv (half the bytes of its K/V streaming, no
      // conversion per block; as for the GEMM, linear_coopmat_vec_nv.comp) when head slices of
      // the contiguous copy are 16-byte aligned.
      uce_tensor qkv16{};
      const uce_tensor* qkv_src = src(0);
      if (v.tensor_cores && hd % 8 == 0) {
        if ((st = fp16_activation_view(ctx, qkv_src, &qkv16, err)) != UCE_OK) return st;
        qkv_src = &qkv16;
        as_mat(qkv_src, x);
      }
      if (!bind_all({qkv_src, src(1), src(2), src(3), src(4), dst})) return st;
      // The u8 mask is read as 32-bit words: pass its byte offset within the bound range.
      uint32_t flags = (src(2) ? 1u : 0u) | (src(3) ? 2u : 0u) | (src(4) ? 4u : 0u);
      if (qkv_src == &qkv16) flags |= 16u;
      Push p;
      p.u(0).u(nq).u(static_cast<uint32_t>(src(1)->ne[0] - 1)).u(dm).u(hd).u(b.elem_off[0]).u(x.stride);
      p.u(b.elem_off[1]).u(b.elem_off[2]).u(b.elem_off[3]).u(b.elem_off[4]).u(b.elem_off[5]).u(d.stride);
      p.u(flags).f(op->scale);
      return dispatch_y(ctx, v.name, b, p, heads, ceil_div(nq, v.bq), v.bq, err);
    }
    default:
      return fail(err, UCE_ERR_UNSUPPORTED, "vulkan: op type %d is not implemented", op->type);
  }
}

}  // namespace uce_vk
