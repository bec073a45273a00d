// ops.cpp — enqueue every op except LINEAR (gemm.cpp). Inputs were validated by check_op.
#include <string>

#include "backend.hpp"
#include "kernel_args.hpp"
#include "uce/ops.hpp"

namespace uce::ocl {
namespace {

constexpr size_t kLx = 256;  // work-group width of the element-wise kernels

const uce_tensor* src(const uce_op& op, int i) { return i < op.n_srcs ? op.srcs[i] : nullptr; }

const char* dtype_tag(int dtype) {
  switch (dtype) {
    case UCE_F16: return "f16";
    case UCE_BF16: return "bf16";
    default: return "f32";
  }
}

}  // namespace

ClStatus Backend::run_gather(const uce_op& op) {
  const View t = make_view(*src(op, 0)), idx = make_view(*src(op, 1)), d = make_view(*op.dst);
  const std::string name = std::string("gather_rows_") + dtype_tag(t.dtype);
  cl_kernel k = nullptr;
  UCE_CL_TRY(kernel("elementwise", "", name.c_str(), &k));
  UCE_CL_TRY(set_args(k, name.c_str(), t.mem, t.off, t.stride, t.rows, idx.mem, idx.off, d.mem,
                      d.off, d.stride, d.cols));
  return enqueue_rows(k, d.cols, d.rows, kLx, name.c_str());
}

ClStatus Backend::run_act_scale(const uce_op& op, int act, float scale) {
  const View x = make_view(*src(op, 0)), d = make_view(*op.dst);
  cl_kernel k = nullptr;
  UCE_CL_TRY(kernel("elementwise", "", "act_scale", &k));
  UCE_CL_TRY(set_args(k, "act_scale", x.mem, x.off, x.stride, d.mem, d.off, d.stride, d.cols,
                      cl_int{act}, cl_float{scale}));
  return enqueue_rows(k, d.cols, d.rows, kLx, "act_scale");
}

ClStatus Backend::run_add(const uce_op& op) {
  const View a = make_view(*src(op, 0)), b = make_view(*src(op, 1)), d = make_view(*op.dst);
  const cl_uint b_stride = b.rows == 1 ? 0u : b.stride;  // one row broadcasts over all rows
  cl_kernel k = nullptr;
  UCE_CL_TRY(kernel("elementwise", "", "add", &k));
  UCE_CL_TRY(set_args(k, "add", a.mem, a.off, a.stride, b.mem, b.off, b_stride, d.mem, d.off,
                      d.stride, d.cols));
  return enqueue_rows(k, d.cols, d.rows, kLx, "add");
}

ClStatus Backend::run_add_rows_pe(const uce_op& op) {
  const View x = make_view(*src(op, 0)), pe = make_view(*src(op, 1)), pos = make_view(*src(op, 2)),
             d = make_view(*op.dst);
  cl_kernel k = nullptr;
  UCE_CL_TRY(kernel("elementwise", "", "add_rows_pe", &k));
  UCE_CL_TRY(set_args(k, "add_rows_pe", x.mem, x.off, x.stride, pe.mem, pe.off, pe.stride, pe.rows,
                      pos.mem, pos.off, d.mem, d.off, d.stride, d.cols));
  return enqueue_rows(k, d.cols, d.rows, kLx, "add_rows_pe");
}

ClStatus Backend::run_segment_mean(const uce_op& op) {
  const View x = make_view(*src(op, 0)), seg = make_view(*src(op, 1)), d = make_view(*op.dst);
  cl_kernel k = nullptr;
  UCE_CL_TRY(kernel("elementwise", "", "segment_mean", &k));
  UCE_CL_TRY(set_args(k, "segment_mean", x.mem, x.off, x.stride, seg.mem, seg.off, d.mem, d.off,
                      d.stride, d.cols));
  return enqueue_rows(k, d.cols, d.rows, kLx, "segment_mean");
}

ClStatus Backend::run_copy(const uce_op& op) {
  const View x = make_view(*src(op, 0)), d = make_view(*op.dst);
  if (d.rows == 0 || d.cols == 0) return ClStatus::success();
  const bool floats = (x.dtype == UCE_F32 || x.dtype == UCE_F16 || x.dtype == UCE_BF16) &&
                      (d.dtype == UCE_F32 || d.dtype == UCE_F16 || d.dtype == UCE_BF16);
  if (!floats || x.dtype == d.dtype) {
    // Same dtype (any): a rectangular copy, no kernel.
    const size_t es = dtype_size(x.dtype);
    const size_t src_origin[3] = {size_t(x.off) * es, 0, 0};
    const size_t dst_origin[3] = {size_t(d.off) * es, 0, 0};
    const size_t region[3] = {size_t(d.cols) * es, d.rows, 1};
    cl_int err = clEnqueueCopyBufferRect(queue_, x.mem, d.mem, src_origin, dst_origin, region,
                                         size_t(x.stride) * es, 0, size_t(d.stride) * es, 0, 0,
                                         nullptr, nullptr);
    if (err != CL_SUCCESS) return cl_fail("clEnqueueCopyBufferRect (copy)", err);
    return ClStatus::success();
  }
  const std::string name = std::string("copy_") + dtype_tag(x.dtype) + "_" + dtype_tag(d.dtype);
  cl_kernel k = nullptr;
  UCE_CL_TRY(kernel("elementwise", "", name.c_str(), &k));
  UCE_CL_TRY(set_args(k, name.c_str(), x.mem, x.off, x.stride, d.mem, d.off, d.stride, d.cols));
  return enqueue_rows(k, d.cols, d.rows, kLx, name.c_str());
}

ClStatus Backend::run_l2norm(const uce_op& op) {
  const View x = make_view(*src(op, 0)), d = make_view(*op.dst);
  if (d.rows == 0) return ClStatus::success();
  cl_kernel k = nullptr;
  const std::string defines = "-DROW_WG=" + std::to_string(row_wg_);
  UCE_CL_TRY(kernel("rownorm", defines, "l2norm_rows", &k));
  UCE_CL_TRY(set_args(k, "l2norm_rows", x.mem, x.off, x.stride, d.mem, d.off, d.stride, d.cols,
                      cl_float{op.eps}));
  const size_t global = size_t(d.rows) * row_wg_, local = size_t(row_wg_);
  return enqueue(k, 1, &global, &local, "l2norm_rows");
}

ClStatus Backend::run_layernorm(const uce_op& op) {
  const View x = make_view(*src(op, 0)), d = make_view(*op.dst);
  const uce_tensor *gt = src(op, 1), *bt = src(op, 2), *rt = src(op, 3);
  // Absent optional inputs: pass x's buffer (never read, the has_* flag is 0).
  const View g = gt ? make_view(*gt) : x, b = bt ? make_view(*bt) : x, r = rt ? make_view(*rt) : x;
  if (d.rows == 0) return ClStatus::success();
  cl_kernel k = nullptr;
  const std::string defines = "-DROW_WG=" + std::to_string(row_wg_);
  UCE_CL_TRY(kernel("rownorm", defines, "layernorm", &k));
  UCE_CL_TRY(set_args(k, "layernorm", x.mem, x.off, x.stride, g.mem, g.off, cl_int{gt != nullptr},
                      b.mem, b.off, cl_int{bt != nullptr}, r.mem, r.off, r.stride,
                      cl_int{rt != nullptr}, d.mem, d.off, d.stride, d.cols, cl_float{op.eps},
                      cl_int{op.activation}, cl_float{op.scale}));
  const size_t global = size_t(d.rows) * row_wg_, local = size_t(row_wg_);
  return enqueue(k, 1, &global, &local, "layernorm");
}

ClStatus Backend::run_attention(const uce_op& op) {
  const View qkv = make_view(*src(op, 0)), seg = make_view(*src(op, 1)), d = make_view(*op.dst);
  const uce_tensor *kbt = src(op, 2), *kmt = src(op, 3), *qrt = src(op, 4);
  const View kb = kbt ? make_view(*kbt) : qkv, km = kmt ? make_view(*kmt) : qkv,
             qr = qrt ? make_view(*qrt) : qkv;
  const uint32_t n_q = d.rows, dm = qkv.cols / 3, heads = uint32_t(op.n_heads);
  const cl_uint n_seg = seg.rows * seg.cols - 1;
  if (n_q == 0 || dm == 0) return ClStatus::success();
  const int hd = int(dm / heads);
  const AttentionTiles tiles = attention_tiles(hd, caps_.max_work_group);
  // Head dim 64 (128 work-items, ~36 KiB of local memory): the tensor-core kernel where it can
  // run, attention_tiled2.cl for a few query rows from many sequences (the CLS-only layer: one
  // query per work-group, so that no group streams the keys of several sequences) and on other
  // devices; every other shape runs attention.cl.
  constexpr size_t kTiledLocal = 36 * 1024;
  const bool hd64 = hd == 64 && caps_.max_work_group >= 128 && caps_.local_mem >= kTiledLocal;
  const bool few_rows = qrt != nullptr && n_q <= 256;
  AttentionKernel use = AttentionKernel::kSimple;
  if (hd64 && attention_forced_ != AttentionKernel::kSimple) {
    const bool mma = mma_attention_ && attention_forced_ != AttentionKernel::kTiled2 &&
                     (!few_rows || attention_forced_ == AttentionKernel::kMmaTf32x3);
    use = mma ? AttentionKernel::kMmaTf32x3 : AttentionKernel::kTiled2;
  }
  cl_kernel k = nullptr;
  if (use == AttentionKernel::kMmaTf32x3) {
    const ClStatus st = kernel("attention_mma_tf32", "", "attention_mma_tf32x3", &k);
    if (!st.ok()) {  // e.g. a driver without mma.sync: the FMA kernel from now on
      log(UCE_LOG_WARN, "opencl: tensor-core attention unavailable (" + st.message +
                            "); attention_tiled2.cl instead");
      mma_attention_ = false;
      use = AttentionKernel::kTiled2;
    }
  }
  last_attention_ = use;
  const bool tiled = use != AttentionKernel::kSimple;
  const char* tiled_name = use == AttentionKernel::kMmaTf32x3 ? "attention_mma_tf32x3" : "attention_tiled2";
  if (use == AttentionKernel::kTiled2) {
    UCE_CL_TRY(kernel("attention_tiled2", "", tiled_name, &k));
  } else if (use == AttentionKernel::kSimple) {
    const std::string defines = "-DHD=" + std::to_string(hd) + " -DQB=" + std::to_string(tiles.qb) +
                                " -DKB=" + std::to_string(tiles.kb);
    UCE_CL_TRY(kernel("attention", defines, "attention", &k));
  }
  if (n_seg == 0) {  // no sequence at all (N = 0): every query row is out of range -> zeros
    const cl_float zero = 0.0f;
    for (uint32_t r = 0; r < n_q; ++r) {
      cl_int err = clEnqueueFillBuffer(queue_, d.mem, &zero, sizeof(zero),
                                       (size_t(d.off) + size_t(r) * d.stride) * sizeof(float),
                                       size_t(d.cols) * sizeof(float), 0, nullptr, nullptr);
      if (err != CL_SUCCESS) return cl_fail("clEnqueueFillBuffer (attention)", err);
    }
    return ClStatus::success();
  }
  if (tiled) {
    // 64 queries per work-group of 128 (attention_tiled2.cl: one for few rows, see above).
    const cl_uint qpg = (use == AttentionKernel::kTiled2 && few_rows) ? 1 : 64;
    UCE_CL_TRY(set_args(k, tiled_name, qkv.mem, qkv.off, qkv.stride, seg.mem, seg.off, n_seg,
                        kb.mem, kb.off, cl_int{kbt != nullptr}, km.mem, km.off,
                        cl_int{kmt != nullptr}, qr.mem, qr.off, cl_int{qrt != nullptr}, d.mem,
                        d.off, d.stride, n_q, dm, cl_float{op.scale}, qpg));
    const size_t global[2] = {(n_q + qpg - 1) / qpg * 128, heads};
    const size_t local[2] = {128, 1};
    return enqueue(k, 2, global, local, tiled_name);
  }
  UCE_CL_TRY(set_args(k, "attention", qkv.mem, qkv.off, qkv.stride, seg.mem, seg.off, n_seg, kb.mem,
                      kb.off, cl_int{kbt != nullptr}, km.mem, km.off, cl_int{kmt != nullptr}, qr.mem,
                      qr.off, cl_int{qrt != nullptr}, d.mem, d.off, d.stride, n_q, dm,
                      cl_float{op.scale}));
  const size_t qb = size_t(tiles.qb);
  const size_t global[2] = {(n_q + qb - 1) / qb * qb, heads};
  const size_t local[2] = {qb, 1};
  return enqueue(k, 2, global, local, "attention");
}

}  // namespace uce::ocl
