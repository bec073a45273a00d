// ocl_test_util.hpp — device tensors with canaries for the OpenCL plugin's own tests.
//
// A tensor lives inside a larger buffer: `pad` elements before it, row stride >= columns, and
// `pad` elements after it. Everything outside the view is filled with a canary bit pattern, so a
// kernel writing out of bounds (wrong stride, offset or tail handling) is caught.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backend.hpp"
#include "uce/half.hpp"
#include "uce/ops.hpp"

namespace ocltest {

constexpr uint8_t kCanaryByte = 0xA7;

struct DevTensor {
  uce_tensor t{};
  uce_buffer* buf = nullptr;
  size_t bytes = 0;
  std::vector<uint8_t> image;  // the whole buffer as uploaded
};

class Device {
 public:
  explicit Device(const std::string& cache_dir) {
    uce_backend_options o{};
    o.struct_size = sizeof(o);
    o.device_index = -1;
    o.cache_dir = cache_dir.c_str();
    auto st = uce::ocl::Backend::open(o, &be);
    if (!st.ok()) error = st.message;
  }
  ~Device() {
    for (auto* b : owned) be->release(b);
  }

  // rows x cols of `dtype` with row stride cols + extra_stride, `pad` canary elements around it.
  // ndim 1 gives a vector of `cols` elements.
  DevTensor make(int dtype, int64_t rows, int64_t cols, const void* data, int ndim = 2,
                 int64_t extra_stride = 3, int64_t pad = 5) {
    DevTensor d;
    const size_t es = uce::dtype_size(dtype);
    const int64_t stride = ndim == 2 ? cols + extra_stride : 1;
    const int64_t view = ndim == 2 ? (rows > 0 ? (rows - 1) * stride + cols : 0) : cols;
    d.bytes = size_t(view + 2 * pad) * es;
    d.image.assign(d.bytes, kCanaryByte);
    const uint8_t* src = static_cast<const uint8_t*>(data);
    const int64_t r_count = ndim == 2 ? rows : 1;
    for (int64_t r = 0; r < r_count; ++r)
      std::memcpy(&d.image[size_t(pad + r * stride) * es], src + size_t(r * cols) * es, size_t(cols) * es);
    auto st = be->alloc(d.bytes, &d.buf);
    EXPECT_TRUE(st.ok()) << st.message;
    owned.push_back(d.buf);
    st = be->write(d.buf, 0, d.image.data(), d.bytes);
    EXPECT_TRUE(st.ok()) << st.message;
    d.t.buffer = d.buf;
    d.t.offset = size_t(pad) * es;
    d.t.dtype = dtype;
    d.t.ndim = ndim;
    if (ndim == 2) {
      d.t.ne[0] = rows;
      d.t.ne[1] = cols;
      d.t.stride[0] = stride;
      d.t.stride[1] = 1;
    } else {
      d.t.ne[0] = cols;
      d.t.stride[0] = 1;
    }
    return d;
  }
  DevTensor make_f32(int64_t rows, int64_t cols, const std::vector<float>& v, int ndim = 2) {
    return make(UCE_F32, rows, cols, v.data(), ndim);
  }
  DevTensor make_i32(const std::vector<int32_t>& v) {
    return make(UCE_I32, 1, int64_t(v.size()), v.data(), 1);
  }
  DevTensor out(int dtype, int64_t rows, int64_t cols) {
    std::vector<uint8_t> zero(size_t(rows * cols) * uce::dtype_size(dtype), 0x5A);
    return make(dtype, rows, cols, zero.data());
  }

  // Synchronise, read the view back as bytes, and check every canary byte is intact.
  std::vector<uint8_t> read(const DevTensor& d) {
    EXPECT_TRUE(be->synchronize().ok());
    std::vector<uint8_t> all(d.bytes);
    auto st = be->read(d.buf, 0, all.data(), d.bytes);
    EXPECT_TRUE(st.ok()) << st.message;
    const size_t es = uce::dtype_size(d.t.dtype);
    const int64_t rows = d.t.ndim == 2 ? d.t.ne[0] : 1;
    const int64_t cols = d.t.ndim == 2 ? d.t.ne[1] : d.t.ne[0];
    const int64_t stride = d.t.ndim == 2 ? d.t.stride[0] : cols;
    std::vector<uint8_t> inside(d.bytes, 0);
    std::vector<uint8_t> view(size_t(rows * cols) * es);
    for (int64_t r = 0; r < rows; ++r) {
      const size_t at = d.t.offset + size_t(r * stride) * es;
      std::memcpy(&view[size_t(r * cols) * es], &all[at], size_t(cols) * es);
      std::memset(&inside[at], 1, size_t(cols) * es);
    }
    size_t damaged = 0;
    for (size_t i = 0; i < d.bytes; ++i)
      if (!inside[i] && all[i] != d.image[i]) ++damaged;
    EXPECT_EQ(damaged, 0u) << "bytes outside the output view were overwritten";
    return view;
  }
  std::vector<float> read_f32(const DevTensor& d) {
    auto b = read(d);
    std::vector<float> f(b.size() / 4);
    std::memcpy(f.data(), b.data(), b.size());
    return f;
  }

  uce::ocl::ClStatus run(int type, std::vector<const uce_tensor*> srcs, const uce_tensor* dst,
                         int act = UCE_ACT_NONE, float scale = 1.0f, float eps = 1e-5f,
                         int heads = 0) {
    uce_op op{};
    op.struct_size = sizeof(op);
    op.type = type;
    op.activation = act;
    op.scale = scale;
    op.eps = eps;
    op.n_heads = heads;
    op.n_srcs = int(srcs.size());
    for (size_t i = 0; i < srcs.size(); ++i) op.srcs[i] = srcs[i];
    op.dst = dst;
    op.name = "test";
    return be->compute(op);
  }

  std::unique_ptr<uce::ocl::Backend> be;
  std::string error;
  std::vector<uce_buffer*> owned;
};

inline std::vector<float> random_floats(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

// |got - want| <= atol + rtol * |want| everywhere; reports the first few mismatches.
inline void expect_close(const std::vector<float>& got, const std::vector<double>& want, double rtol,
                         double atol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  int bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double g = got[i], w = want[i];
    if (g == w) continue;  // exact, infinities included
    if (!std::isfinite(g) || std::fabs(g - w) > atol + rtol * std::fabs(w)) {
      if (++bad <= 5) ADD_FAILURE() << what << ": element " << i << " got " << g << " want " << w;
    }
  }
  EXPECT_EQ(bad, 0) << what;
}

inline double gelu_ref(double v) { return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))); }
inline double act_ref(double v, int act) {
  return act == UCE_ACT_GELU ? gelu_ref(v) : act == UCE_ACT_RELU ? std::max(v, 0.0) : v;
}

// Where the tests keep their program binaries: a folder in the build tree, so that reruns are
// fast; the cache test itself uses a fresh folder.
inline std::string test_cache_dir() { return UCE_OCL_TEST_CACHE_DIR; }

}  // namespace ocltest
