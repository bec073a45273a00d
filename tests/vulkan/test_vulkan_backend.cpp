// test_vulkan_backend — the Vulkan plugin's own mechanics on whatever Vulkan device exists
// (lavapipe in CI): probe, device selection errors, describe, dispatch splitting past
// maxComputeWorkGroupCount, unaligned tensor offsets with canaries, several dependent ops in one
// batch, the attention variants, the persisted pipeline cache, refusal of over-range tensors,
// the UCE_VULKAN_PROFILE timestamp report.
// Expected values come from a double-precision CPU implementation of core/include/uce/ops.hpp
// written here. Op-by-op coverage of every shape is tests/ops (test_backend_ops -b vulkan).
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "uce/half.hpp"
#include "uce/uce_plugin.h"

namespace {

// The build tree's plugin, or the one in $UCE_TEST_PLUGIN_DIR (a build copied to another machine).
std::string plugin_path() {
  const char* moved = std::getenv("UCE_TEST_PLUGIN_DIR");
  if (!moved || !*moved) return UCE_VK_PLUGIN_PATH;
  return (std::filesystem::path(moved) / std::filesystem::path(UCE_VK_PLUGIN_PATH).filename()).string();
}

const uce_plugin_header* plugin() {
  static const uce_plugin_header* header = [] {
    void* so = dlopen(plugin_path().c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!so) return static_cast<const uce_plugin_header*>(nullptr);
    auto entry = reinterpret_cast<uce_plugin_entry_fn>(dlsym(so, UCE_PLUGIN_ENTRY_SYMBOL));
    return entry ? entry() : nullptr;
  }();
  return header;
}

const uce_backend_iface* iface() { return static_cast<const uce_backend_iface*>(plugin()->iface); }

uce_backend_options default_options() {
  uce_backend_options o{};
  o.struct_size = sizeof(o);
  o.device_index = -1;
  o.allow_fp16 = 1;
  o.allow_coopmat = 1;
  return o;
}

// Skips the test when this machine has no Vulkan device (the probe says why).
#define REQUIRE_VULKAN()                                                      \
  do {                                                                        \
    ASSERT_NE(plugin(), nullptr) << "cannot load " << plugin_path();          \
    char why_[256] = "";                                                      \
    if (plugin()->probe(why_, sizeof(why_)) <= 0) GTEST_SKIP() << why_;       \
  } while (0)

struct Backend {
  uce_backend* be = nullptr;
  uce_error err{};
  explicit Backend(uce_backend_options o = default_options()) {
    if (iface()->open(&o, &be, &err) != UCE_OK) be = nullptr;
  }
  ~Backend() {
    if (be) iface()->close(be);
  }
};

// A device buffer holding several tensors at chosen byte offsets; the bytes between and around
// them are canaries that no op may touch.
struct Arena {
  Backend& b;
  uce_buffer* buf = nullptr;
  std::vector<uint8_t> shadow;  // what the buffer should contain outside op outputs
  Arena(Backend& be, size_t bytes) : b(be), shadow(bytes, 0xA5) {
    EXPECT_EQ(iface()->buffer_alloc(b.be, bytes, &buf, &b.err), UCE_OK) << b.err.message;
    EXPECT_EQ(iface()->buffer_write(b.be, buf, 0, shadow.data(), bytes, &b.err), UCE_OK) << b.err.message;
  }
  ~Arena() {
    if (buf) iface()->buffer_free(b.be, buf);
  }
  uce_tensor place(size_t offset, int dtype, std::vector<int64_t> ne, int64_t row_stride = 0) {
    uce_tensor t{};
    t.buffer = buf;
    t.offset = offset;
    t.dtype = dtype;
    t.ndim = static_cast<int32_t>(ne.size());
    for (size_t i = 0; i < ne.size(); ++i) t.ne[i] = ne[i];
    if (t.ndim == 2) {
      t.stride[1] = 1;
      t.stride[0] = row_stride ? row_stride : ne[1];
    } else {
      t.stride[0] = 1;
    }
    return t;
  }
  template <class T>
  void upload(const uce_tensor& t, const std::vector<T>& rows_packed) {  // packed rows -> strided
    const int64_t rows = t.ndim == 2 ? t.ne[0] : 1, cols = t.ndim == 2 ? t.ne[1] : t.ne[0];
    const int64_t stride = t.ndim == 2 ? t.stride[0] : cols;
    for (int64_t r = 0; r < rows; ++r)
      std::memcpy(&shadow[t.offset + static_cast<size_t>(r * stride) * sizeof(T)], &rows_packed[static_cast<size_t>(r * cols)],
                  static_cast<size_t>(cols) * sizeof(T));
    ASSERT_EQ(iface()->buffer_write(b.be, buf, 0, shadow.data(), shadow.size(), &b.err), UCE_OK) << b.err.message;
  }
  std::vector<const uce_tensor*> outputs;  // regions ops may write
  void mark_output(const uce_tensor& t) { outputs.push_back(&t); }
  std::vector<float> download(const uce_tensor& t) {  // strided f32 -> packed; checks canaries
    std::vector<uint8_t> now(shadow.size());
    EXPECT_EQ(iface()->buffer_read(b.be, buf, 0, now.data(), now.size(), &b.err), UCE_OK) << b.err.message;
    std::vector<float> out;
    mark_output(t);
    for (const uce_tensor* o : outputs) {
      const int64_t rows = o->ndim == 2 ? o->ne[0] : 1, cols = o->ndim == 2 ? o->ne[1] : o->ne[0];
      const int64_t stride = o->ndim == 2 ? o->stride[0] : cols;
      if (o == &t) out.resize(static_cast<size_t>(rows * cols));
      for (int64_t r = 0; r < rows; ++r) {
        const size_t at = o->offset + static_cast<size_t>(r * stride) * 4;
        if (o == &t) std::memcpy(&out[static_cast<size_t>(r * cols)], &now[at], static_cast<size_t>(cols) * 4);
        std::memcpy(&shadow[at], &now[at], static_cast<size_t>(cols) * 4);  // outputs are expected to change
      }
    }
    size_t bad = 0;
    for (size_t i = 0; i < now.size(); ++i) bad += now[i] != shadow[i];
    EXPECT_EQ(bad, 0u) << "bytes outside the op's output changed (canaries)";
    return out;
  }
};

std::vector<float> random_values(size_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

void expect_close(const std::vector<float>& got, const std::vector<double>& want, double tol, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_TRUE(std::isfinite(got[i])) << what << " element " << i << " is not finite";
    const double e = std::fabs(got[i] - want[i]) / (1.0 + std::fabs(want[i]));
    if (e > worst) { worst = e; at = i; }
  }
  EXPECT_LE(worst, tol) << what << ": element " << at << " got " << got[at] << " want " << want[at];
}

uce_op make_op(int type, std::vector<const uce_tensor*> srcs, const uce_tensor* dst) {
  uce_op op{};
  op.struct_size = sizeof(op);
  op.type = type;
  op.scale = 1.0f;
  op.n_srcs = static_cast<int32_t>(srcs.size());
  for (size_t i = 0; i < srcs.size(); ++i) op.srcs[i] = srcs[i];
  op.dst = dst;
  op.name = "test";
  return op;
}

// ---- CPU reference (ops.hpp), double accumulation ---------------------------------------------
std::vector<double> ref_linear(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& bias,
                               int n, int k, int m, int act) {
  std::vector<double> y(static_cast<size_t>(n) * m);
  for (int i = 0; i < n; ++i)
    for (int o = 0; o < m; ++o) {
      double s = bias.empty() ? 0.0 : bias[o];
      for (int c = 0; c < k; ++c) s += static_cast<double>(x[i * k + c]) * w[o * k + c];
      if (act == UCE_ACT_GELU) s = 0.5 * s * (1.0 + std::erf(s / std::sqrt(2.0)));
      if (act == UCE_ACT_RELU) s = std::max(s, 0.0);
      y[static_cast<size_t>(i) * m + o] = s;
    }
  return y;
}

std::vector<double> ref_layernorm(const std::vector<double>& v, const std::vector<float>& g, const std::vector<float>& b,
                                  int n, int d, float eps, int act, float scale) {
  std::vector<double> y(v.size());
  for (int i = 0; i < n; ++i) {
    double mean = 0, var = 0;
    for (int c = 0; c < d; ++c) mean += v[i * d + c];
    mean /= d;
    for (int c = 0; c < d; ++c) var += (v[i * d + c] - mean) * (v[i * d + c] - mean);
    var /= d;
    for (int c = 0; c < d; ++c) {
      double t = (v[i * d + c] - mean) / std::sqrt(var + eps) * g[c] + b[c];
      if (act == UCE_ACT_GELU) t = 0.5 * t * (1.0 + std::erf(t / std::sqrt(2.0)));
      y[i * d + c] = t * scale;
    }
  }
  return y;
}

std::vector<double> ref_attention(const std::vector<float>& qkv, const std::vector<int32_t>& seg,
                                  const std::vector<float>& bias, const std::vector<uint8_t>& mask,
                                  const std::vector<int32_t>& rows, int d, int heads, double scale) {
  const int hd = d / heads;
  std::vector<double> out(rows.size() * static_cast<size_t>(d), 0.0);
  for (size_t qi = 0; qi < rows.size(); ++qi) {
    const int i = rows[qi];
    size_t s = 0;
    while (!(seg[s] <= i && i < seg[s + 1])) ++s;
    for (int h = 0; h < heads; ++h) {
      std::vector<double> logits;
      std::vector<int> keys;
      for (int j = seg[s]; j < seg[s + 1]; ++j) {
        if (!mask.empty() && mask[j]) continue;
        double dot = 0;
        for (int c = 0; c < hd; ++c) dot += static_cast<double>(qkv[i * 3 * d + h * hd + c]) * qkv[j * 3 * d + d + h * hd + c];
        logits.push_back(dot * scale + (bias.empty() ? 0.0 : bias[j]));
        keys.push_back(j);
      }
      if (keys.empty()) continue;  // all keys masked: zeros
      const double mx = *std::max_element(logits.begin(), logits.end());
      double sum = 0;
      for (double& l : logits) sum += (l = std::exp(l - mx));
      for (int c = 0; c < hd; ++c) {
        double acc = 0;
        for (size_t t = 0; t < keys.size(); ++t) acc += logits[t] / sum * qkv[keys[t] * 3 * d + 2 * d + h * hd + c];
        out[qi * d + h * hd + c] = acc;
      }
    }
  }
  return out;
}

// ---- tests ------------------------------------------------------------------------------------

TEST(VulkanPlugin, HeaderAndProbe) {
  ASSERT_NE(plugin(), nullptr) << dlerror();
  EXPECT_EQ(plugin()->abi_major, UCE_ABI_MAJOR);
  EXPECT_EQ(plugin()->kind, UCE_PLUGIN_BACKEND);
  EXPECT_STREQ(plugin()->name, "vulkan");
  char why[256] = "";
  const int32_t score = plugin()->probe(why, sizeof(why));
  EXPECT_GE(score, 0);
  EXPECT_GT(std::strlen(why), 0u) << "probe must always say what it found or why not";
}

TEST(VulkanPlugin, DeviceSelectionErrorsNameTheOption) {
  REQUIRE_VULKAN();
  uce_backend_options o = default_options();
  o.device_index = 999;
  Backend bad_index(o);
  EXPECT_EQ(bad_index.be, nullptr);
  EXPECT_NE(std::string(bad_index.err.message).find("device_index"), std::string::npos) << bad_index.err.message;
  o = default_options();
  o.device_name = "no-such-gpu-anywhere";
  Backend bad_name(o);
  EXPECT_EQ(bad_name.be, nullptr);
  EXPECT_NE(std::string(bad_name.err.message).find("device_name"), std::string::npos) << bad_name.err.message;
  o = default_options();
  o.device_index = 0;  // index 0 always exists when the probe succeeded
  Backend first(o);
  EXPECT_NE(first.be, nullptr) << first.err.message;
}

TEST(VulkanPlugin, DescribeReportsCapabilities) {
  REQUIRE_VULKAN();
  Backend b;
  ASSERT_NE(b.be, nullptr) << b.err.message;
  char line[512] = "";
  iface()->describe(b.be, line, sizeof(line));
  const std::string s = line;
  for (const char* key : {"vulkan:", "subgroup", "shared", "max binding", "fp16 storage", "coopmat", "linear:"})
    EXPECT_NE(s.find(key), std::string::npos) << "missing '" << key << "' in: " << s;
}

// Many backends opened and closed one after another in one process (the engine's tests and a
// long-running service do this): on the NVIDIA driver, creating and destroying a VkInstance per
// open made vkCreateInstance fail with VK_ERROR_INCOMPATIBLE_DRIVER after ~29 cycles.
TEST(VulkanPlugin, ManyOpenCloseCyclesInOneProcess) {
  REQUIRE_VULKAN();
  for (int i = 0; i < 40; ++i) {
    char why[256] = "";
    ASSERT_GT(plugin()->probe(why, sizeof(why)), 0) << "cycle " << i << ": " << why;
    Backend b;
    ASSERT_NE(b.be, nullptr) << "cycle " << i << ": " << b.err.message;
  }
}

TEST(VulkanPlugin, RefusesTensorsBeyondTheBindingRange) {
  REQUIRE_VULKAN();
  Backend b;
  ASSERT_NE(b.be, nullptr) << b.err.message;
  uce_tensor x{}, y{};
  x.dtype = y.dtype = UCE_F32;
  x.ndim = y.ndim = 2;
  x.ne[0] = y.ne[0] = int64_t(1) << 21;  // 2^21 x 1024 f32 = 8 GiB: over any maxStorageBufferRange
  x.ne[1] = y.ne[1] = 1024;
  x.stride[0] = y.stride[0] = 1024;
  x.stride[1] = y.stride[1] = 1;
  uce_op op = make_op(UCE_OP_GELU, {&x}, &y);
  char why[256] = "";
  EXPECT_EQ(iface()->supports_op(b.be, &op, why, sizeof(why)), 0);
  EXPECT_NE(std::string(why).find("maxStorageBufferRange"), std::string::npos) << why;
}

TEST(VulkanPlugin, RowsBeyondTheWorkgroupCountLimitAreSplit) {
  REQUIRE_VULKAN();
  Backend b;
  ASSERT_NE(b.be, nullptr) << b.err.message;
  const int n = 70001, d = 3;  // > 65535, the usual maxComputeWorkGroupCount[1]
  Arena a(b, static_cast<size_t>(n) * d * 4 * 2 + 4 * d + 64);
  uce_tensor x = a.place(16, UCE_F32, {n, d});
  uce_tensor bias = a.place(16 + static_cast<size_t>(n) * d * 4, UCE_F32, {1, d});
  uce_tensor y = a.place(32 + static_cast<size_t>(n) * d * 4 + 4 * d, UCE_F32, {n, d});
  const auto xv = random_values(static_cast<size_t>(n) * d, 1), bv = random_values(d, 2);
  a.upload(x, xv);
  a.upload(bias, bv);
  uce_op op = make_op(UCE_OP_ADD, {&x, &bias}, &y);
  ASSERT_EQ(iface()->compute(b.be, &op, &b.err), UCE_OK) << b.err.message;
  ASSERT_EQ(iface()->synchronize(b.be, &b.err), UCE_OK) << b.err.message;
  std::vector<double> want(xv.size());
  for (size_t i = 0; i < want.size(); ++i) want[i] = static_cast<double>(xv[i]) + bv[i % d];
  expect_close(a.download(y), want, 1e-6, "broadcast add over 70001 rows");
}

// One buffer larger than lavapipe's 128 MiB maxStorageBufferRange: each tensor is bound through
// its own window, so tensors placed past 128 MiB still work.
TEST(VulkanPlugin, TensorsDeepInsideABufferLargerThanTheBindingRange) {
  REQUIRE_VULKAN();
  Backend b;
  ASSERT_NE(b.be, nullptr) << b.err.message;
  const size_t mib = size_t(1) << 20, bytes = 200 * mib;
  uce_buffer* buf = nullptr;
  ASSERT_EQ(iface()->buffer_alloc(b.be, bytes, &buf, &b.err), UCE_OK) << b.err.message;
  const int n = 33, d = 65;
  const auto xv = random_values(static_cast<size_t>(n) * d, 31);
  const size_t x_off = 150 * mib + 4, y_off = 190 * mib + 8;
  ASSERT_EQ(iface()->buffer_write(b.be, buf, x_off, xv.data(), xv.size() * 4, &b.err), UCE_OK) << b.err.message;
  uce_tensor x{}, y{};
  for (uce_tensor* t : {&x, &y}) {
    t->buffer = buf;
    t->dtype = UCE_F32;
    t->ndim = 2;
    t->ne[0] = n;
    t->ne[1] = d;
    t->stride[0] = d;
    t->stride[1] = 1;
  }
  x.offset = x_off;
  y.offset = y_off;
  uce_op op = make_op(UCE_OP_SCALE, {&x}, &y);
  op.scale = -2.5f;
  ASSERT_EQ(iface()->compute(b.be, &op, &b.err), UCE_OK) << b.err.message;
  ASSERT_EQ(iface()->synchronize(b.be, &b.err), UCE_OK) << b.err.message;
  std::vector<float> got(xv.size());
  ASSERT_EQ(iface()->buffer_read(b.be, buf, y_off, got.data(), got.size() * 4, &b.err), UCE_OK) << b.err.message;
  std::vector<double> want(xv.begin(), xv.end());
  for (double& v : want) v *= -2.5;
  expect_close(got, want, 1e-7, "scale at 190 MiB");
  iface()->buffer_free(b.be, buf);
}

// How the opened backend computes LINEAR, read from describe(): the f32 scalar GEMM, or the
// cooperative-matrix GEMM, which rounds x and W to fp16 (allow_fp16 + allow_coopmat on a device
// with tensor cores) and accumulates in f32 or f16.
enum class LinearPath { F32, Fp16InputsF32Acc, Fp16InputsF16Acc };

LinearPath linear_path(Backend& b) {
  char line[1024] = "";
  iface()->describe(b.be, line, sizeof(line));
  const std::string s = line;
  size_t at = s.find("coopmat NV ");
  if (at == std::string::npos) at = s.find("coopmat KHR ");
  if (at == std::string::npos) return LinearPath::F32;
  return s.find("_acc16", at) != std::string::npos ? LinearPath::Fp16InputsF16Acc : LinearPath::Fp16InputsF32Acc;
}

float round_to_half(float v) { return uce::half_to_float(uce::float_to_half(v)); }

std::vector<float> rounded_to_half(std::vector<float> v) {
  for (float& x : v) x = round_to_half(x);
  return v;
}

// linear -> layernorm(+residual, gelu, scale) -> linear recorded in ONE batch, tensors at offsets
// that are not multiples of the storage-buffer alignment: exercises barriers and offset binding.
// The reference models the LINEAR path the backend chose: with fp16 inputs (coopmat GEMM), x and
// W are rounded to fp16 first (products of two fp16 values are exact in f32, so with f32
// accumulation the f32 tolerance still holds); comparing an fp16-input GEMM against the f32
// reference at 2e-5 is what failed on an H100 (errors ~4e-4 = fp16 input rounding, not offsets).
void check_dependent_ops(const uce_backend_options& options) {
  Backend b(options);
  ASSERT_NE(b.be, nullptr) << b.err.message;
  const LinearPath path = linear_path(b);
  const int n = 37, k = 70, m = 45, m2 = 19;
  size_t off = 4;  // deliberately 4-byte aligned only
  Arena a(b, 64 * 1024);
  auto next = [&](int dtype, std::vector<int64_t> ne, int64_t stride = 0) {
    uce_tensor t = a.place(off, dtype, ne, stride);
    const int64_t rows = ne.size() == 2 ? ne[0] : 1, cols = ne.size() == 2 ? (stride ? stride : ne[1]) : ne[0];
    off += static_cast<size_t>(rows * cols) * 4 + 12;  // 12-byte gaps are canaries
    return t;
  };
  uce_tensor x = next(UCE_F32, {n, k}, k + 3), w = next(UCE_F32, {m, k}), bias = next(UCE_F32, {m});
  uce_tensor h = next(UCE_F32, {n, m}), res = next(UCE_F32, {n, m}), g = next(UCE_F32, {m}), be = next(UCE_F32, {m});
  uce_tensor ln = next(UCE_F32, {n, m}), w2 = next(UCE_F32, {m2, m}), out = next(UCE_F32, {n, m2}, m2 + 1);
  const auto xv = random_values(static_cast<size_t>(n) * k, 3), wv = random_values(static_cast<size_t>(m) * k, 4, -0.2f, 0.2f);
  const auto bv = random_values(m, 5), rv = random_values(static_cast<size_t>(n) * m, 6), gv = random_values(m, 7, 0.5f, 1.5f);
  const auto bev = random_values(m, 8), w2v = random_values(static_cast<size_t>(m2) * m, 9, -0.3f, 0.3f);
  a.upload(x, xv); a.upload(w, wv); a.upload(bias, bv); a.upload(res, rv); a.upload(g, gv); a.upload(be, bev); a.upload(w2, w2v);

  uce_op lin = make_op(UCE_OP_LINEAR, {&x, &w, &bias}, &h);
  lin.activation = UCE_ACT_RELU;
  uce_op norm = make_op(UCE_OP_LAYERNORM, {&h, &g, &be, &res}, &ln);
  norm.activation = UCE_ACT_GELU;
  norm.eps = 1e-5f;
  norm.scale = 0.5f;
  uce_op lin2 = make_op(UCE_OP_LINEAR, {&ln, &w2, nullptr}, &out);
  for (uce_op* op : {&lin, &norm, &lin2}) {
    char why[256] = "";
    ASSERT_EQ(iface()->supports_op(b.be, op, why, sizeof(why)), 1) << why;
    ASSERT_EQ(iface()->compute(b.be, op, &b.err), UCE_OK) << b.err.message;
  }
  ASSERT_EQ(iface()->synchronize(b.be, &b.err), UCE_OK) << b.err.message;

  a.mark_output(h);
  a.mark_output(ln);
  a.mark_output(out);
  const bool fp16_in = path != LinearPath::F32;
  auto gemm_in = [&](const std::vector<float>& v) { return fp16_in ? rounded_to_half(v) : v; };
  const auto hv = ref_linear(gemm_in(xv), gemm_in(wv), bv, n, k, m, UCE_ACT_RELU);
  std::vector<double> v(hv.size());
  // The layernorm reads h as the f32 values the device stored.
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(static_cast<float>(hv[i])) + rv[i];
  const auto lnv = ref_layernorm(v, gv, bev, n, m, 1e-5f, UCE_ACT_GELU, 0.5f);
  const std::vector<float> lnf(lnv.begin(), lnv.end());
  const auto outv = ref_linear(gemm_in(lnf), gemm_in(w2v), {}, n, m, m2, UCE_ACT_NONE);
  // fp16 accumulators round every partial sum (|sum| < 4, ulp <= 2^-9) over K = 70 steps.
  const double tol = path == LinearPath::Fp16InputsF16Acc ? 1e-2 : 2e-5;
  SCOPED_TRACE(path == LinearPath::F32                ? "LINEAR path: f32 GEMM"
               : path == LinearPath::Fp16InputsF32Acc ? "LINEAR path: coopmat, fp16 inputs, f32 accumulation"
                                                      : "LINEAR path: coopmat, fp16 inputs, f16 accumulation");
  expect_close(a.download(h), hv, tol, "linear+relu");
  expect_close(a.download(ln), lnv, tol, "layernorm+res+gelu*0.5");
  expect_close(a.download(out), outv, tol, "second linear");
}

TEST(VulkanPlugin, DependentOpsInOneBatchWithUnalignedOffsets) {
  REQUIRE_VULKAN();
  uce_backend_options o = default_options();
  o.allow_fp16 = 0;  // the f32 scalar GEMM on every device
  o.allow_coopmat = 0;
  check_dependent_ops(o);
}

// Same with allow_fp16 + allow_coopmat: the cooperative-matrix GEMM where the device has one
// (NVIDIA), the f32 GEMM elsewhere (lavapipe).
TEST(VulkanPlugin, DependentOpsInOneBatchWithUnalignedOffsetsFp16Allowed) {
  REQUIRE_VULKAN();
  check_dependent_ops(default_options());
}

// A weight rewritten after a LINEAR used it must be read again: on the coopmat path the plugin
// keeps an fp16 copy of f32 weights, which must notice both a host write (buffer_write) and an op
// writing into the weight's buffer (here a COPY). On other paths this checks plain re-reads.
void check_weight_rewrites(const uce_backend_options& options) {
  Backend b(options);
  ASSERT_NE(b.be, nullptr) << b.err.message;
  const bool fp16_in = linear_path(b) != LinearPath::F32;
  const int n = 70, k = 64, m = 48;
  Arena act(b, 4 * static_cast<size_t>(n * k + n * m + m * k) + 64);
  Arena weights(b, 4 * static_cast<size_t>(m * k) + 64);  // own buffer, as the engine uploads constants
  uce_tensor x = act.place(0, UCE_F32, {n, k}), out = act.place(4 * n * k, UCE_F32, {n, m});
  uce_tensor w3 = act.place(4 * (n * k + n * m), UCE_F32, {m, k});
  uce_tensor w = weights.place(16, UCE_F32, {m, k});
  const auto xv = random_values(static_cast<size_t>(n) * k, 21);
  const auto w1 = random_values(static_cast<size_t>(m) * k, 22), w2 = random_values(static_cast<size_t>(m) * k, 23);
  const auto w3v = random_values(static_cast<size_t>(m) * k, 24);
  act.upload(x, xv);
  act.upload(w3, w3v);
  auto gemm_in = [&](const std::vector<float>& v) { return fp16_in ? rounded_to_half(v) : v; };
  auto run_linear = [&] {
    uce_op lin = make_op(UCE_OP_LINEAR, {&x, &w, nullptr}, &out);
    ASSERT_EQ(iface()->compute(b.be, &lin, &b.err), UCE_OK) << b.err.message;
    ASSERT_EQ(iface()->synchronize(b.be, &b.err), UCE_OK) << b.err.message;
  };
  weights.upload(w, w1);
  run_linear();
  expect_close(act.download(out), ref_linear(gemm_in(xv), gemm_in(w1), {}, n, k, m, UCE_ACT_NONE), 2e-5, "first weights");
  weights.upload(w, w2);  // host write into the weight buffer
  run_linear();
  expect_close(act.download(out), ref_linear(gemm_in(xv), gemm_in(w2), {}, n, k, m, UCE_ACT_NONE), 2e-5, "after buffer_write");
  uce_op copy = make_op(UCE_OP_COPY, {&w3}, &w);  // an op writing into the weight buffer
  ASSERT_EQ(iface()->compute(b.be, &copy, &b.err), UCE_OK) << b.err.message;
  run_linear();
  expect_close(act.download(out), ref_linear(gemm_in(xv), gemm_in(w3v), {}, n, k, m, UCE_ACT_NONE), 2e-5, "after a COPY into W");
}

TEST(VulkanPlugin, WeightRewrittenAfterUseIsReadAgain) {
  REQUIRE_VULKAN();
  check_weight_rewrites(default_options());
}

// The same on the fp32 path (allow_coopmat without allow_fp16): where the device has tensor cores
// the plugin keeps hi/lo fp16 splits of f32 weights, which must go stale the same way.
TEST(VulkanPlugin, WeightRewrittenAfterUseIsReadAgainFp32) {
  REQUIRE_VULKAN();
  uce_backend_options o = default_options();
  o.allow_fp16 = 0;
  check_weight_rewrites(o);
}

bool fp32_on_tensor_cores(Backend& b) {
  char line[1024] = "";
  iface()->describe(b.be, line, sizeof(line));
  return std::string(line).find("3xFP16") != std::string::npos;
}

// fp32 LINEAR on fp16 tensor cores (x and W split into hi + lo fp16 with row scales): fp32-class
// accuracy, every element within 1e-5 of its row's largest |y| against a double reference (fp16
// inputs alone are ~1e-3 off, a dropped hi*lo term ~1e-4), including x rows far outside fp16's
// range (1e-9 and 1e6: the row scales), a tiny W row, and tails in n, m. Skipped where the path is
// not chosen (lavapipe: no cooperative matrices).
TEST(VulkanPlugin, LinearFp32OnTensorCores) {
  REQUIRE_VULKAN();
  uce_backend_options o = default_options();
  o.allow_fp16 = 0;
  Backend b(o);
  ASSERT_NE(b.be, nullptr) << b.err.message;
  if (!fp32_on_tensor_cores(b)) GTEST_SKIP() << "fp32 GEMM on tensor cores not chosen on this device";
  const int n = 150, k = 1280, m = 136;
  Arena a(b, 4 * static_cast<size_t>(n * k + m * k + n * m) + 256);
  uce_tensor x = a.place(0, UCE_F32, {n, k}), w = a.place(4 * n * k, UCE_F32, {m, k});
  uce_tensor out = a.place(4 * (n * k + m * k), UCE_F32, {n, m});
  auto xv = random_values(static_cast<size_t>(n) * k, 31), wv = random_values(static_cast<size_t>(m) * k, 32, -0.05f, 0.05f);
  for (int c = 0; c < k; ++c) {
    xv[static_cast<size_t>(3) * k + c] *= 1e-9f;  // a row far below fp16's smallest normal
    xv[static_cast<size_t>(4) * k + c] *= 1e6f;   // and one far above its largest value
    wv[static_cast<size_t>(5) * k + c] *= 1e-7f;
  }
  a.upload(x, xv);
  a.upload(w, wv);
  // No bias, so that each row's outputs keep the row's own magnitude (bias and epilogues: the op
  // harness, test_backend_ops --allow-coopmat).
  uce_op lin = make_op(UCE_OP_LINEAR, {&x, &w, nullptr}, &out);
  lin.activation = UCE_ACT_GELU;
  ASSERT_EQ(iface()->compute(b.be, &lin, &b.err), UCE_OK) << b.err.message;
  ASSERT_EQ(iface()->synchronize(b.be, &b.err), UCE_OK) << b.err.message;
  const auto got = a.download(out);
  const auto want = ref_linear(xv, wv, {}, n, k, m, UCE_ACT_GELU);
  // Per row: the scaled rows are compared at their own magnitude.
  for (int i = 0; i < n; ++i) {
    double scale = 0, worst = 0;
    for (int o2 = 0; o2 < m; ++o2) scale = std::max(scale, std::fabs(want[static_cast<size_t>(i) * m + o2]));
    for (int o2 = 0; o2 < m; ++o2) {
      const size_t at = static_cast<size_t>(i) * m + o2;
      ASSERT_TRUE(std::isfinite(got[at])) << "row " << i << " column " << o2;
      worst = std::max(worst, std::fabs(got[at] - want[at]));
    }
    EXPECT_LE(worst, 1e-5 * scale) << "row " << i << " (largest |y| " << scale << ")";
  }
}

struct AttnCase {
  int d, heads;
  std::vector<int32_t> lengths;
  bool bias, mask, sparse_queries;
};

class VulkanAttention : public ::testing::TestWithParam<AttnCase> {};

// True when describe() says ATTENTION runs on the fp16 tensor-core kernel (allow_fp16 + coopmat).
bool attention_is_fp16(Backend& b) {
  char line[1024] = "";
  iface()->describe(b.be, line, sizeof(line));
  return std::string(line).find("attention: coopmat") != std::string::npos;
}

void check_attention(const AttnCase& c, const uce_backend_options& options) {
  Backend b(options);
  ASSERT_NE(b.be, nullptr) << b.err.message;
  std::vector<int32_t> seg{0};
  for (int32_t l : c.lengths) seg.push_back(seg.back() + l);
  const int n = seg.back();
  std::vector<int32_t> rows;
  for (int i = 0; i < n; ++i)
    if (!c.sparse_queries || i % 7 == 3) rows.push_back(c.sparse_queries ? n - 1 - i : i);
  const auto qkv = random_values(static_cast<size_t>(n) * 3 * c.d, 11, -1.5f, 1.5f);
  std::vector<float> bias = c.bias ? random_values(n, 12, -2.f, 2.f) : std::vector<float>{};
  std::vector<uint8_t> mask;
  if (c.mask) {
    mask.resize(n);
    for (int j = 0; j < n; ++j) mask[j] = (j % 5 == 1) || (j >= seg[1] && j < seg[2]);  // sequence 1 fully masked
  }
  Arena a(b, 4 * (static_cast<size_t>(n) * 3 * c.d + 4 * n + rows.size() * c.d + seg.size()) + 1024);
  size_t off = 4;
  uce_tensor tq = a.place(off, UCE_F32, {n, 3 * c.d}); off += static_cast<size_t>(n) * 3 * c.d * 4 + 8;
  uce_tensor ts = a.place(off, UCE_I32, {static_cast<int64_t>(seg.size())}); off += seg.size() * 4 + 8;
  uce_tensor tb = a.place(off, UCE_F32, {n}); off += static_cast<size_t>(n) * 4 + 4;
  uce_tensor tm = a.place(off, UCE_U8, {n}); off += static_cast<size_t>(n) + 3;  // u8 at an odd offset
  off = (off + 3) & ~size_t(3);
  uce_tensor tr = a.place(off, UCE_I32, {static_cast<int64_t>(rows.size())}); off += rows.size() * 4 + 8;
  uce_tensor td = a.place(off, UCE_F32, {static_cast<int64_t>(rows.size()), c.d});
  a.upload(tq, qkv);
  a.upload(ts, seg);
  if (c.bias) a.upload(tb, bias);
  if (c.mask) a.upload(tm, mask);
  a.upload(tr, rows);
  const double scale = 1.0 / std::sqrt(static_cast<double>(c.d / c.heads));
  uce_op op = make_op(UCE_OP_ATTENTION, {&tq, &ts, c.bias ? &tb : nullptr, c.mask ? &tm : nullptr, &tr}, &td);
  op.n_heads = c.heads;
  op.scale = static_cast<float>(scale);
  char why[256] = "";
  ASSERT_EQ(iface()->supports_op(b.be, &op, why, sizeof(why)), 1) << why;
  ASSERT_EQ(iface()->compute(b.be, &op, &b.err), UCE_OK) << b.err.message;
  ASSERT_EQ(iface()->synchronize(b.be, &b.err), UCE_OK) << b.err.message;
  // The tensor-core kernel rounds q*scale, k, v and the probabilities to fp16 (relative 2^-11
  // each, |q.k| here up to ~20): errors of a few 1e-3 are its expected precision, not a bug.
  const bool fp16 = attention_is_fp16(b) && !c.sparse_queries && c.d / c.heads <= 64;
  SCOPED_TRACE(fp16 ? "attention path: fp16 tensor cores" : "attention path: f32");
  expect_close(a.download(td), ref_attention(qkv, seg, bias, mask, rows, c.d, c.heads, scale), fp16 ? 1e-2 : 2e-5,
               "attention");
}

TEST_P(VulkanAttention, MatchesReferenceF32) {
  REQUIRE_VULKAN();
  uce_backend_options o = default_options();
  o.allow_fp16 = 0;
  o.allow_coopmat = 0;
  check_attention(GetParam(), o);
}

// With allow_fp16 + allow_coopmat: the tensor-core kernel where the device has one (NVIDIA).
TEST_P(VulkanAttention, MatchesReferenceFp16Allowed) {
  REQUIRE_VULKAN();
  check_attention(GetParam(), default_options());
}

INSTANTIATE_TEST_SUITE_P(
    Variants, VulkanAttention,
    ::testing::Values(AttnCase{128, 2, {40, 9, 70}, true, true, false},    // hd 64, one query per invocation
                      AttnCase{128, 2, {150, 1, 97, 66}, true, true, false}, // workgroups spanning sequences, several key blocks
                      AttnCase{54, 3, {70, 0, 83}, true, false, false},    // hd 18 (not a multiple of 4), empty sequence
                      AttnCase{64, 1, {200}, false, false, false},         // hd 64, one long sequence, no bias/mask
                      AttnCase{128, 2, {40, 9, 70}, true, false, true},    // hd 64, scattered queries: 1 per workgroup
                      AttnCase{192, 2, {33, 20, 1}, false, true, false},   // hd 96: the hd<=128 variant
                      AttnCase{40, 5, {17, 6, 50}, true, true, true},      // hd 8
                      AttnCase{256, 2, {5, 3, 21}, true, true, true}));   // hd 128, sparse -> hd128 variant

// UCE_VULKAN_PROFILE=1: every dispatch of a batch is timed and reported under its shader variant
// and grid when the backend closes; the ops' results are unchanged. Unset: no report at all.
std::string profile_row(const std::string& report, const std::string& label) {
  std::istringstream in(report);
  for (std::string line; std::getline(in, line);)
    if (line.find("uce vulkan profile: " + label + " ") != std::string::npos) return line;
  return {};
}

std::string run_linear_then_add(bool profile, std::vector<float>* y_out, std::vector<double>* want) {
  if (profile) setenv("UCE_VULKAN_PROFILE", "1", 1);
  testing::internal::CaptureStderr();
  {
    // The f32 path on every device, so the expected shader variant and the f32 tolerance hold on
    // GPUs with cooperative matrices too (this test is about the profiler, not the fp16 path).
    uce_backend_options o = default_options();
    o.allow_fp16 = 0;
    o.allow_coopmat = 0;
    Backend b(o);
    EXPECT_NE(b.be, nullptr) << b.err.message;
    if (b.be) {
      const int n = 5, k = 7, m = 9;
      Arena a(b, 4096);
      uce_tensor x = a.place(0, UCE_F32, {n, k}), w = a.place(256, UCE_F32, {m, k});
      uce_tensor y = a.place(1024, UCE_F32, {n, m}), z = a.place(2048, UCE_F32, {n, m});
      const auto xv = random_values(n * k, 11), wv = random_values(m * k, 12);
      a.upload(x, xv);
      a.upload(w, wv);
      uce_op lin = make_op(UCE_OP_LINEAR, {&x, &w, nullptr}, &y);
      uce_op add = make_op(UCE_OP_ADD, {&y, &y}, &z);  // depends on the LINEAR: same batch, after it
      EXPECT_EQ(iface()->compute(b.be, &lin, &b.err), UCE_OK) << b.err.message;
      EXPECT_EQ(iface()->compute(b.be, &add, &b.err), UCE_OK) << b.err.message;
      EXPECT_EQ(iface()->synchronize(b.be, &b.err), UCE_OK) << b.err.message;
      a.mark_output(y);
      *y_out = a.download(z);
      *want = ref_linear(xv, wv, {}, n, k, m, UCE_ACT_NONE);
      for (double& v : *want) v *= 2.0;
    }
  }  // closing the backend prints the report
  std::string err = testing::internal::GetCapturedStderr();
  if (profile) unsetenv("UCE_VULKAN_PROFILE");
  return err;
}

TEST(VulkanPlugin, ProfilerReportsEveryDispatchByVariantAndGrid) {
  REQUIRE_VULKAN();
  if (std::getenv("UCE_VULKAN_PROFILE")) GTEST_SKIP() << "UCE_VULKAN_PROFILE is set by the caller";
  std::vector<float> got;
  std::vector<double> want;
  const std::string report = run_linear_then_add(true, &got, &want);
  expect_close(got, want, 1e-5, "2 * (x W^T) with the profiler on");
  ASSERT_NE(report.find("uce vulkan profile: on"), std::string::npos) << report;
  // 5 rows <= 64: the 64x64-tile scalar GEMM, one workgroup; ADD: ceil(9 / 256) x 5 rows.
  for (const char* label : {"linear_f32 [1x1]", "add_rows [1x5]"}) {
    const std::string row = profile_row(report, label);
    ASSERT_FALSE(row.empty()) << "no row for " << label << " in:\n" << report;
    std::istringstream fields(row.substr(row.find(']') + 1));
    unsigned long long count = 0, groups = 0;
    double total_us = -1;
    fields >> count >> groups >> total_us;
    EXPECT_EQ(count, 1u) << row;
    EXPECT_EQ(groups, std::string(label) == "add_rows [1x5]" ? 5u : 1u) << row;
    EXPECT_GE(total_us, 0.0) << row;
  }
  EXPECT_NE(report.find(" batches, "), std::string::npos) << "no totals line:\n" << report;

  const std::string quiet = run_linear_then_add(false, &got, &want);
  expect_close(got, want, 1e-5, "2 * (x W^T) with the profiler off");
  EXPECT_EQ(quiet.find("uce vulkan profile"), std::string::npos) << quiet;
}

TEST(VulkanPlugin, PipelineCacheIsPersistedAndReused) {
  REQUIRE_VULKAN();
  const auto dir = std::filesystem::temp_directory_path() / ("uce-vk-cache-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string dir_s = dir.string();
  uce_backend_options o = default_options();
  o.cache_dir = dir_s.c_str();
  for (int round = 0; round < 2; ++round) {
    Backend b(o);
    ASSERT_NE(b.be, nullptr) << b.err.message;
    Arena a(b, 1024);
    uce_tensor x = a.place(0, UCE_F32, {4, 8}), y = a.place(512, UCE_F32, {4, 8});
    const auto xv = random_values(32, 21);
    a.upload(x, xv);
    uce_op op = make_op(UCE_OP_RELU, {&x}, &y);
    ASSERT_EQ(iface()->compute(b.be, &op, &b.err), UCE_OK) << b.err.message;
    ASSERT_EQ(iface()->synchronize(b.be, &b.err), UCE_OK) << b.err.message;
    std::vector<double> want(xv.begin(), xv.end());
    for (double& v : want) v = std::max(v, 0.0);
    expect_close(a.download(y), want, 0, "relu");
  }
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    EXPECT_NE(e.path().filename().string().find("uce-vulkan-"), std::string::npos);
    EXPECT_GT(std::filesystem::file_size(e.path()), 16u);
    ++files;
  }
  EXPECT_EQ(files, 1u) << "one cache file per device/driver, rewritten in place";
  std::filesystem::remove_all(dir);
}

}  // namespace
