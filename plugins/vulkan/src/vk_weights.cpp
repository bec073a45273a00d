// vk_weights.cpp — fp16 copies of f32 weights (and activations) for the cooperative-matrix GEMM.
// When the coopmat path is chosen (allow_fp16 + allow_coopmat), an f32 W is converted to fp16 on
// the device the first time a LINEAR reads it and the copy is kept: W is uploaded once by the
// engine, converted once here, and every later GEMM reads half the bytes with no per-tile
// conversion. A copy is keyed by the source buffer's id and the tensor's placement, and remembers
// the buffer's write generation: a buffer rewritten since (buffer_write, or an op writing into it)
// gets a fresh conversion, so the copy can never serve stale data. Freed buffers drop their copies.
// fp32 runs on fp16 tensor cores keep hi/lo fp16 splits of f32 weights the same way
// (split_weight_storage; the split itself is recorded by vk_ops.cpp with split_f16x2.comp).
#include <algorithm>
#include <climits>

#include "vk_context.hpp"
#include "vk_ops.hpp"

namespace uce_vk {

namespace {

// A contiguous [rows, cols] f16 view of `buf`.
uce_tensor f16_view(struct ::uce_buffer* buf, int64_t rows, int64_t cols) {
  uce_tensor t{};
  t.dtype = UCE_F16;
  t.ndim = 2;
  t.ne[0] = rows;
  t.ne[1] = cols;
  t.stride[0] = cols;
  t.stride[1] = 1;
  t.buffer = buf;
  return t;
}

// Records the conversion of `src` into the f16 view `dst` into the current batch, before the GEMM
// that reads it (dispatches are serialised by a barrier); COPY rounds to nearest even.
uce_status record_f16_copy(Context& ctx, const uce_tensor* src, uce_tensor* dst, const char* label, uce_error* err) {
  uce_op op{};
  op.struct_size = sizeof(uce_op);
  op.type = UCE_OP_COPY;
  op.n_srcs = 1;
  op.srcs[0] = src;
  op.dst = dst;
  op.name = label;
  return ops_compute(ctx, &op, err);
}

// Bytes of a split: hi and lo halfs, then one f32 scale per row.
uint64_t split_bytes(int64_t rows, int64_t cols) {
  return std::max<uint64_t>(4, static_cast<uint64_t>(rows) * static_cast<uint64_t>(cols) * 4 +
                                   static_cast<uint64_t>(rows) * 4);
}

SplitStorage split_views(struct ::uce_buffer* buf, int64_t rows, int64_t cols) {
  SplitStorage s;
  s.hl = f16_view(buf, 2 * rows, cols);
  s.scale.dtype = UCE_F32;
  s.scale.ndim = 1;
  s.scale.ne[0] = rows;
  s.scale.stride[0] = 1;
  s.scale.buffer = buf;
  s.scale.offset = static_cast<size_t>(rows) * static_cast<size_t>(cols) * 4;
  return s;
}

// Grows a scratch buffer to at least `bytes` (commands already recorded may read the old one:
// they are submitted first).
uce_status grow_scratch(Context& ctx, struct ::uce_buffer*& buf, uint64_t bytes, uce_error* err) {
  if (buf && buf->vk.size >= bytes) return UCE_OK;
  uce_status st = flush(ctx, err);
  if (st != UCE_OK) return st;
  if (buf) {
    buffer_destroy(ctx, buf->vk);
  } else {
    buf = new uce_buffer{};
  }
  st = buffer_create(ctx, bytes, buf->vk, err);
  if (st != UCE_OK) {
    delete buf;
    buf = nullptr;
  }
  return st;
}

void forget_copies(Context& ctx, std::map<Fp16CopyKey, Fp16Copy>& copies, uint64_t buffer_id) {
  auto it = copies.lower_bound(Fp16CopyKey{buffer_id, 0, INT64_MIN, INT64_MIN, INT64_MIN});
  while (it != copies.end() && it->first.buffer_id == buffer_id) {
    if (it->second.buf) {
      ctx.fp16_weight_bytes -= it->second.buf->vk.size;
      buffer_destroy(ctx, it->second.buf->vk);
      delete it->second.buf;
    }
    it = copies.erase(it);
  }
}

void free_copies(Context& ctx, std::map<Fp16CopyKey, Fp16Copy>& copies) {
  for (auto& kv : copies) {
    if (!kv.second.buf) continue;
    buffer_destroy(ctx, kv.second.buf->vk);
    delete kv.second.buf;
  }
  copies.clear();
}

void free_scratch(Context& ctx, struct ::uce_buffer*& buf) {
  if (!buf) return;
  buffer_destroy(ctx, buf->vk);
  delete buf;
  buf = nullptr;
}

}  // namespace

uce_status fp16_weight_view(Context& ctx, const uce_tensor* w, uce_tensor* out, uce_error* err) {
  const Buffer& src = w->buffer->vk;
  const int64_t rows = w->ne[0], cols = w->ne[1];
  const Fp16CopyKey key{src.id, w->offset, rows, cols, w->stride[0]};
  Fp16Copy& copy = ctx.fp16_weights[key];
  if (copy.buf && copy.generation == src.generation) {
    *out = f16_view(copy.buf, rows, cols);
    return UCE_OK;
  }
  if (!copy.buf) {
    copy.buf = new uce_buffer{};
    const uint64_t bytes = static_cast<uint64_t>(rows) * static_cast<uint64_t>(cols) * 2;
    uce_status st = buffer_create(ctx, bytes, copy.buf->vk, err);
    if (st != UCE_OK) {
      delete copy.buf;
      ctx.fp16_weights.erase(key);
      return st;
    }
    ctx.fp16_weight_bytes += bytes;
  }
  *out = f16_view(copy.buf, rows, cols);
  uce_status st = record_f16_copy(ctx, w, out, "fp16 weight copy", err);
  if (st != UCE_OK) return st;
  copy.generation = src.generation;
  return UCE_OK;
}

uce_status fp16_activation_view(Context& ctx, const uce_tensor* x, uce_tensor* out, uce_error* err) {
  const int64_t rows = x->ne[0], cols = x->ne[1];
  const uint64_t bytes = std::max<uint64_t>(2, static_cast<uint64_t>(rows) * static_cast<uint64_t>(cols) * 2);
  // Grows only while batches get larger (the first batches of a run).
  uce_status st = grow_scratch(ctx, ctx.x16, bytes, err);
  if (st != UCE_OK) return st;
  *out = f16_view(ctx.x16, rows, cols);
  return record_f16_copy(ctx, x, out, "fp16 activation copy", err);
}

uce_status split_weight_storage(Context& ctx, const uce_tensor* w, SplitStorage* out, uint64_t** stale,
                                uce_error* err) {
  const Buffer& src = w->buffer->vk;
  const int64_t rows = w->ne[0], cols = w->ne[1];
  const Fp16CopyKey key{src.id, w->offset, rows, cols, w->stride[0]};
  Fp16Copy& copy = ctx.split_weights[key];
  const bool created = !copy.buf;
  if (created) {
    copy.buf = new uce_buffer{};
    const uint64_t bytes = split_bytes(rows, cols);
    uce_status st = buffer_create(ctx, bytes, copy.buf->vk, err);
    if (st != UCE_OK) {
      delete copy.buf;
      ctx.split_weights.erase(key);
      return st;
    }
    ctx.fp16_weight_bytes += bytes;
  }
  *out = split_views(copy.buf, rows, cols);
  *stale = created || copy.generation != src.generation ? &copy.generation : nullptr;
  return UCE_OK;
}

uce_status split_activation_storage(Context& ctx, const uce_tensor* x, SplitStorage* out, uce_error* err) {
  const int64_t rows = x->ne[0], cols = x->ne[1];
  uce_status st = grow_scratch(ctx, ctx.x_split, split_bytes(rows, cols), err);
  if (st != UCE_OK) return st;
  *out = split_views(ctx.x_split, rows, cols);
  return UCE_OK;
}

void weights_forget_buffer(Context& ctx, uint64_t buffer_id) {
  forget_copies(ctx, ctx.fp16_weights, buffer_id);
  forget_copies(ctx, ctx.split_weights, buffer_id);
}

void weights_shutdown(Context& ctx) {
  free_copies(ctx, ctx.fp16_weights);
  free_copies(ctx, ctx.split_weights);
  ctx.fp16_weight_bytes = 0;
  free_scratch(ctx, ctx.x16);
  free_scratch(ctx, ctx.x_split);
}

}  // namespace uce_vk
