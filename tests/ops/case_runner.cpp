// case_runner.cpp — see case_runner.hpp.
#include "case_runner.hpp"

#include <memory>

namespace uce::ops_test {
namespace {

constexpr size_t kPad = 256;  // canary bytes before and after every tensor; also the offset alignment

// One tensor's memory: [kPad canary][tensor bytes incl. row padding][kPad canary].
struct Staged {
  std::vector<uint8_t> image;       // host copy of the whole region
  uce_buffer* buffer = nullptr;     // device mode only
  uce_tensor desc{};
};

Staged stage(const HostTensor& t, bool fill_with_tensor) {
  Staged s;
  s.image.resize(kPad + t.byte_size() + kPad);
  fill_canary(s.image.data(), s.image.size());
  if (fill_with_tensor) std::copy(t.bytes.begin(), t.bytes.end(), s.image.begin() + kPad);
  s.desc = t.descriptor();
  return s;
}

// Bytes of `t` (placed at kPad in `image`) that are NOT logical elements must be canary.
bool canaries_intact(const std::vector<uint8_t>& image, const HostTensor& t, std::string& where) {
  const size_t es = t.elem_size();
  if (!is_canary(image.data(), kPad)) {
    where = "before the tensor";
    return false;
  }
  const size_t end = kPad + t.byte_size();
  if (!is_canary(image.data() + end, image.size() - end, end % 4)) {
    where = "after the tensor";
    return false;
  }
  if (t.ndim == 2 && t.stride > t.cols) {
    const size_t row_bytes = static_cast<size_t>(t.stride) * es, used = static_cast<size_t>(t.cols) * es;
    for (int64_t r = 0; r < t.rows; ++r) {
      const size_t gap = kPad + static_cast<size_t>(r) * row_bytes + used;
      if (!is_canary(image.data() + gap, row_bytes - used, gap % 4)) {
        where = "in the row padding of row " + std::to_string(r);
        return false;
      }
    }
  }
  return true;
}

}  // namespace

uce_op make_op(const OpCase& c, const std::vector<const uce_tensor*>& srcs, const uce_tensor* dst) {
  uce_op op{};
  op.struct_size = sizeof(uce_op);
  op.type = c.type;
  op.activation = c.activation;
  op.n_heads = c.n_heads;
  op.eps = c.eps;
  op.scale = c.scale;
  op.n_srcs = static_cast<int32_t>(srcs.size());
  for (size_t i = 0; i < srcs.size() && i < UCE_MAX_SRCS; ++i) op.srcs[i] = srcs[i];
  op.dst = dst;
  op.name = c.label.c_str();
  return op;
}

RunOutcome run_case(Backend& backend, const OpCase& c, bool host_mode) {
  RunOutcome out;
  std::vector<Staged> srcs(c.srcs.size());
  for (size_t i = 0; i < c.srcs.size(); ++i)
    if (c.srcs[i]) srcs[i] = stage(*c.srcs[i], true);
  Staged dst = stage(c.dst, false);

  std::vector<const uce_tensor*> src_ptrs(c.srcs.size(), nullptr);
  for (size_t i = 0; i < c.srcs.size(); ++i)
    if (c.srcs[i]) src_ptrs[i] = &srcs[i].desc;
  const uce_op op = make_op(c, src_ptrs, &dst.desc);

  // Capability first (memory fields still empty, as when a scheduler plans).
  std::string why;
  if (!backend.supports(op, &why)) {
    out.kind = RunOutcome::Kind::kUnsupported;
    out.message = why.empty() ? "supports_op said no (no reason given)" : why;
    return out;
  }

  // Memory: buffers (device mode) or the staging images themselves (host mode).
  std::vector<Staged*> all;
  for (auto& s : srcs)
    if (!s.image.empty()) all.push_back(&s);
  all.push_back(&dst);
  auto release = [&] {
    for (Staged* s : all)
      if (s->buffer) backend.free(s->buffer);
  };
  for (Staged* s : all) {
    if (host_mode) {
      s->desc.buffer = nullptr;
      s->desc.offset = 0;
      s->desc.host_data = s->image.data() + kPad;
      continue;
    }
    auto buf = backend.alloc(s->image.size());
    if (!buf) {
      out.message = "buffer_alloc: " + buf.message();
      release();
      return out;
    }
    s->buffer = *buf;
    if (Status st = backend.write(s->buffer, 0, s->image.data(), s->image.size()); !st) {
      out.message = "buffer_write: " + st.message();
      release();
      return out;
    }
    s->desc.buffer = s->buffer;
    s->desc.offset = kPad;
    void* host = backend.host_ptr(s->buffer);
    s->desc.host_data = host ? static_cast<uint8_t*>(host) + kPad : nullptr;
  }

  Status st = backend.compute(op);
  if (st) st = backend.synchronize();
  if (!st) {
    out.message = st.message();
    release();
    return out;
  }
  if (!host_mode) {
    for (Staged* s : all) {
      if (Status rs = backend.read(s->buffer, 0, s->image.data(), s->image.size()); !rs) {
        out.message = "buffer_read: " + rs.message();
        release();
        return out;
      }
    }
  }
  release();

  out.kind = RunOutcome::Kind::kDone;
  std::string where;
  if (!canaries_intact(dst.image, c.dst, where)) out.problems.push_back("dst canary overwritten " + where);
  for (size_t i = 0; i < c.srcs.size(); ++i) {
    if (!c.srcs[i]) continue;
    const auto& img = srcs[i].image;
    const bool same = std::equal(c.srcs[i]->bytes.begin(), c.srcs[i]->bytes.end(), img.begin() + kPad) &&
                      canaries_intact(img, *c.srcs[i], where);
    if (!same) out.problems.push_back("srcs[" + std::to_string(i) + "] was modified by the op");
  }
  out.output = c.dst;
  std::copy(dst.image.begin() + kPad, dst.image.begin() + static_cast<std::ptrdiff_t>(kPad + c.dst.byte_size()),
            out.output.bytes.begin());
  return out;
}

}  // namespace uce::ops_test
