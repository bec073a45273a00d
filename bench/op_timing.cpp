// op_timing.cpp — see op_timing.hpp.
#include "op_timing.hpp"

#include <cmath>
#include <functional>
#include <memory>

namespace uce::bench {
namespace {

// Tensors in buffers of one backend, freed together. Values are small deterministic pseudo-random
// numbers (no denormals, no NaN) — only the timing matters here.
class Tensors {
 public:
  explicit Tensors(Backend& backend) : backend_(backend) {}
  ~Tensors() {
    for (uce_buffer* b : buffers_) backend_.free(b);
  }
  Tensors(const Tensors&) = delete;
  Tensors& operator=(const Tensors&) = delete;

  Result<const uce_tensor*> f32(int64_t rows, int64_t cols, bool one_dim, float amplitude) {
    std::vector<float> v(static_cast<size_t>(rows * cols));
    for (float& x : v) {
      state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
      x = amplitude * (static_cast<float>(state_ >> 40) / static_cast<float>(1ULL << 24) - 0.5f);
    }
    return make(UCE_F32, rows, cols, one_dim, v.data(), v.size() * sizeof(float));
  }
  Result<const uce_tensor*> i32(const std::vector<int32_t>& v) {
    return make(UCE_I32, static_cast<int64_t>(v.size()), 1, true, v.data(), v.size() * sizeof(int32_t));
  }

 private:
  Result<const uce_tensor*> make(int32_t dtype, int64_t rows, int64_t cols, bool one_dim, const void* data,
                                 size_t bytes) {
    auto buf = backend_.alloc(std::max<size_t>(bytes, 4));
    if (!buf) return Result<const uce_tensor*>::error(buf.message());
    buffers_.push_back(*buf);
    UCE_TRY(backend_.write(*buf, 0, data, bytes));
    auto t = std::make_unique<uce_tensor>();
    t->buffer = *buf;
    t->host_data = backend_.host_ptr(*buf);
    t->offset = 0;
    t->dtype = dtype;
    t->ndim = one_dim ? 1 : 2;
    t->ne[0] = rows;
    t->ne[1] = one_dim ? 0 : cols;
    t->stride[0] = one_dim ? 1 : cols;
    t->stride[1] = 1;
    tensors_.push_back(std::move(t));
    return static_cast<const uce_tensor*>(tensors_.back().get());
  }
  Backend& backend_;
  std::vector<uce_buffer*> buffers_;
  std::vector<std::unique_ptr<uce_tensor>> tensors_;
  uint64_t state_ = 88172645463325252ULL;
};

uce_op make_op(const char* name, int type, std::vector<const uce_tensor*> srcs, const uce_tensor* dst) {
  uce_op op{};
  op.struct_size = sizeof(op);
  op.type = type;
  op.scale = 1.0f;
  op.eps = 1e-5f;
  op.n_srcs = static_cast<int32_t>(srcs.size());
  for (size_t i = 0; i < srcs.size(); ++i) op.srcs[i] = srcs[i];
  op.dst = dst;
  op.name = name;
  return op;
}

Result<OpTiming> time_op(Backend& backend, const uce_op& op, double flops, int warmup, int repeats) {
  Status failed;
  double cpu = 0;
  int run = 0;
  auto t = time_runs(warmup, repeats, [&] {
    if (!failed) return;
    const double c0 = process_cpu_seconds();
    if (Status s = backend.compute(op); !s) failed = s;
    else if (Status s2 = backend.synchronize(); !s2) failed = s2;
    if (run++ >= warmup) cpu += process_cpu_seconds() - c0;
  });
  if (!failed) return Result<OpTiming>::error(failed.message());
  return OpTiming{op.name, flops, 0.0, summarize(t), repeats > 0 ? cpu / repeats : 0.0};
}

}  // namespace

Result<OpTiming> time_linear(Backend& backend, int64_t n, int64_t k, int64_t m, bool with_epilogue,
                             int activation, int warmup, int repeats) {
  using R = Result<OpTiming>;
  Tensors ts(backend);
  auto x = ts.f32(n, k, false, 2.0f);
  auto w = ts.f32(m, k, false, 2.0f / std::sqrt(static_cast<float>(k)));
  auto b = ts.f32(m, 1, true, 0.2f);
  auto y = ts.f32(n, m, false, 0.0f);
  for (auto* r : {&x, &w, &b, &y})
    if (!*r) return R::error(r->message());
  uce_op op = make_op("sgemm", UCE_OP_LINEAR, {*x, *w, with_epilogue ? *b : nullptr}, *y);
  op.activation = with_epilogue ? activation : UCE_ACT_NONE;
  return time_op(backend, op, 2.0 * static_cast<double>(n) * static_cast<double>(k) * static_cast<double>(m),
                 warmup, repeats);
}

Result<std::vector<OpTiming>> profile_layer(Backend& backend, int64_t n1, int64_t d, int64_t heads, int64_t ff,
                                            bool cls_only, int warmup, int repeats, int64_t sequences) {
  using R = Result<std::vector<OpTiming>>;
  Tensors ts(backend);
  const int64_t n = n1 * sequences;                  // packed rows
  const int64_t q = cls_only ? sequences : n;        // rows after attention
  std::vector<int32_t> segments, cls_rows;
  for (int64_t s = 0; s <= sequences; ++s) segments.push_back(static_cast<int32_t>(s * n1));
  for (int64_t s = 0; s < sequences; ++s) cls_rows.push_back(static_cast<int32_t>(s * n1));
  const float wa = 2.0f / std::sqrt(static_cast<float>(d)), wf = 2.0f / std::sqrt(static_cast<float>(ff));
  std::vector<Result<const uce_tensor*>> t;
  t.push_back(ts.f32(n, d, false, 2.0f));        // 0 h
  t.push_back(ts.f32(3 * d, d, false, wa));      // 1 in_proj W
  t.push_back(ts.f32(3 * d, 1, true, 0.2f));     // 2 in_proj b
  t.push_back(ts.f32(n, 3 * d, false, 0.0f));    // 3 qkv
  t.push_back(ts.i32(segments));                 // 4 segments
  t.push_back(ts.i32(cls_rows));                 // 5 cls query rows
  t.push_back(ts.f32(q, d, false, 0.0f));        // 6 attention out
  t.push_back(ts.f32(d, d, false, wa));          // 7 out W
  t.push_back(ts.f32(d, 1, true, 0.2f));         // 8 out b
  t.push_back(ts.f32(q, d, false, 0.0f));        // 9 o
  t.push_back(ts.f32(d, 1, true, 1.0f));         // 10 gamma
  t.push_back(ts.f32(d, 1, true, 0.2f));         // 11 beta
  t.push_back(ts.f32(q, d, false, 2.0f));        // 12 residual (CLS rows or h)
  t.push_back(ts.f32(q, d, false, 0.0f));        // 13 h1
  t.push_back(ts.f32(ff, d, false, wa));         // 14 W1
  t.push_back(ts.f32(ff, 1, true, 0.2f));        // 15 b1
  t.push_back(ts.f32(q, ff, false, 0.0f));       // 16 f
  t.push_back(ts.f32(d, ff, false, wf));         // 17 W2
  t.push_back(ts.f32(d, 1, true, 0.2f));         // 18 b2
  t.push_back(ts.f32(q, d, false, 0.0f));        // 19 f2
  t.push_back(ts.f32(q, d, false, 0.0f));        // 20 h out
  for (auto& r : t)
    if (!r) return R::error(r.message());
  auto T = [&](int i) { return *t[static_cast<size_t>(i)]; };
  const double N = static_cast<double>(n), D = static_cast<double>(d), Q = static_cast<double>(q),
               F = static_cast<double>(ff);

  std::vector<std::pair<uce_op, double>> ops;
  ops.push_back({make_op("attn.qkv", UCE_OP_LINEAR, {T(0), T(1), T(2)}, T(3)), 2 * N * D * 3 * D});
  uce_op attn = make_op("attn", UCE_OP_ATTENTION, {T(3), T(4), nullptr, nullptr, cls_only ? T(5) : nullptr}, T(6));
  attn.n_heads = static_cast<int32_t>(heads);
  attn.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d / heads)));
  ops.push_back({attn, 4 * Q * static_cast<double>(n1) * D});  // each query row sees its own n1 keys
  ops.push_back({make_op("attn.out", UCE_OP_LINEAR, {T(6), T(7), T(8)}, T(9)), 2 * Q * D * D});
  ops.push_back({make_op("norm1", UCE_OP_LAYERNORM, {T(9), T(10), T(11), T(12)}, T(13)), 0});
  uce_op up = make_op("ffn.up", UCE_OP_LINEAR, {T(13), T(14), T(15)}, T(16));
  up.activation = UCE_ACT_RELU;
  ops.push_back({up, 2 * Q * D * F});
  ops.push_back({make_op("ffn.down", UCE_OP_LINEAR, {T(16), T(17), T(18)}, T(19)), 2 * Q * F * D});
  ops.push_back({make_op("norm2", UCE_OP_LAYERNORM, {T(19), T(10), T(11), T(13)}, T(20)), 0});

  std::vector<OpTiming> out;
  const double norm_bytes = 4.0 * (3 * Q * D + 2 * D);  // x, residual, out + gamma, beta
  for (const auto& [op, flops] : ops) {
    auto r = time_op(backend, op, flops, warmup, repeats);
    if (!r) return R::error(r.message());
    if (op.type == UCE_OP_LAYERNORM) r->bytes = norm_bytes;
    out.push_back(*r);
  }
  return out;
}

Result<OpTiming> time_copy(Backend& backend, size_t bytes, int warmup, int repeats) {
  Tensors ts(backend);
  const int64_t cols = 1024, rows = static_cast<int64_t>(bytes / (4 * cols));
  auto x = ts.f32(rows, cols, false, 1.0f);
  auto y = ts.f32(rows, cols, false, 0.0f);
  for (auto* r : {&x, &y})
    if (!*r) return Result<OpTiming>::error(r->message());
  auto t = time_op(backend, make_op("copy", UCE_OP_COPY, {*x}, *y), 0, warmup, repeats);
  if (t) t->bytes = 2.0 * 4.0 * static_cast<double>(rows * cols);  // read + write
  return t;
}

}  // namespace uce::bench
