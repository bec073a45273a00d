// test_opencl_ops.cpp — every op of the OpenCL plugin against straightforward double-precision
// loops written from ops.hpp (not from the kernels), on odd shapes, strided views and canaries.
// The shared harness tests/ops compares against the reference backend as well; these tests add
// the paths the harness cannot force (each GEMM implementation, dtype variants).
#include <limits>
#include <set>

#include "clblast_tuning.hpp"
#include "ocl_test_util.hpp"

namespace {

using namespace ocltest;
using uce::ocl::GemmKernel;

class OpenCLOps : public ::testing::Test {
 protected:
  void SetUp() override {
    dev = std::make_unique<Device>(test_cache_dir());
    if (!dev->be) GTEST_SKIP() << "no OpenCL device: " << dev->error;
  }
  std::unique_ptr<Device> dev;
};

TEST_F(OpenCLOps, GatherRowsAllTableTypes) {
  const int V = 11, D = 70, n = 9;
  const auto table = random_floats(V * D, 1);
  const std::vector<int32_t> idx = {3, 0, 10, 3, 7, 1, 1, 9, 5};
  for (int dtype : {UCE_F32, UCE_F16, UCE_BF16}) {
    std::vector<uint16_t> t16(table.size());
    std::vector<double> want(size_t(n) * D);
    for (size_t i = 0; i < table.size(); ++i)
      t16[i] = dtype == UCE_F16 ? uce::float_to_half(table[i]) : uce::float_to_bf16(table[i]);
    auto tt = dtype == UCE_F32 ? dev->make(UCE_F32, V, D, table.data())
                               : dev->make(dtype, V, D, t16.data());
    for (int i = 0; i < n; ++i)
      for (int c = 0; c < D; ++c) {
        const size_t s = size_t(idx[i]) * D + c;
        want[size_t(i) * D + c] = dtype == UCE_F32   ? table[s]
                                  : dtype == UCE_F16 ? uce::half_to_float(t16[s])
                                                     : uce::bf16_to_float(t16[s]);
      }
    auto it = dev->make_i32(idx);
    auto out = dev->out(UCE_F32, n, D);
    for (int type : {UCE_OP_GATHER_ROWS, UCE_OP_SLICE_ROWS}) {
      ASSERT_TRUE(dev->run(type, {&tt.t, &it.t}, &out.t).ok());
      expect_close(dev->read_f32(out), want, 0, 0, std::string("gather ") + uce::dtype_name(dtype));
    }
  }
}

TEST_F(OpenCLOps, L2NormRows) {
  const int n = 5, D = 517;
  auto x = random_floats(n * D, 2);
  for (int c = 0; c < D; ++c) x[size_t(3) * D + c] = 0.0f;  // zero row: divided by eps, stays 0
  std::vector<double> want(x.size());
  for (int r = 0; r < n; ++r) {
    double ss = 0;
    for (int c = 0; c < D; ++c) ss += double(x[r * D + c]) * x[r * D + c];
    const double den = std::max(std::sqrt(ss), 1e-12);
    for (int c = 0; c < D; ++c) want[r * D + c] = x[r * D + c] / den;
  }
  auto xt = dev->make_f32(n, D, x);
  auto out = dev->out(UCE_F32, n, D);
  ASSERT_TRUE(dev->run(UCE_OP_L2NORM_ROWS, {&xt.t}, &out.t, UCE_ACT_NONE, 1.0f, 1e-12f).ok());
  expect_close(dev->read_f32(out), want, 1e-5, 1e-7, "l2norm");
}

TEST_F(OpenCLOps, LayerNormResidualActScale) {
  const int n = 7, D = 1280;
  const auto x = random_floats(n * D, 3, -2, 3), res = random_floats(n * D, 4);
  const auto g = random_floats(D, 5, 0.5f, 1.5f), b = random_floats(D, 6);
  for (bool with_res : {false, true})
    for (int act : {UCE_ACT_NONE, UCE_ACT_GELU, UCE_ACT_RELU}) {
      const float scale = act == UCE_ACT_NONE ? std::sqrt(1280.0f) : 1.0f;
      std::vector<double> want(x.size());
      for (int r = 0; r < n; ++r) {
        double mean = 0, var = 0;
        for (int c = 0; c < D; ++c) mean += x[r * D + c] + (with_res ? res[r * D + c] : 0.0);
        mean /= D;
        for (int c = 0; c < D; ++c) {
          const double v = x[r * D + c] + (with_res ? res[r * D + c] : 0.0) - mean;
          var += v * v;
        }
        var /= D;
        for (int c = 0; c < D; ++c) {
          const double v = x[r * D + c] + (with_res ? res[r * D + c] : 0.0);
          want[r * D + c] = act_ref((v - mean) / std::sqrt(var + 1e-5) * g[c] + b[c], act) * scale;
        }
      }
      auto xt = dev->make_f32(n, D, x), rt = dev->make_f32(n, D, res);
      auto gt = dev->make_f32(1, D, g, 1), bt = dev->make_f32(1, D, b, 1);
      auto out = dev->out(UCE_F32, n, D);
      auto st = dev->run(UCE_OP_LAYERNORM, {&xt.t, &gt.t, &bt.t, with_res ? &rt.t : nullptr}, &out.t,
                         act, scale, 1e-5f);
      ASSERT_TRUE(st.ok()) << st.message;
      expect_close(dev->read_f32(out), want, 1e-5, 1e-5,
                   "layernorm res=" + std::to_string(with_res) + " act=" + std::to_string(act));
    }
}

TEST_F(OpenCLOps, ElementwiseGeluReluScaleAdd) {
  const int n = 13, D = 67;
  const auto x = random_floats(n * D, 7, -4, 4), y = random_floats(n * D, 8), row = random_floats(D, 9);
  auto xt = dev->make_f32(n, D, x), yt = dev->make_f32(n, D, y), rowt = dev->make_f32(1, D, row);
  auto out = dev->out(UCE_F32, n, D);
  std::vector<double> want(x.size());

  ASSERT_TRUE(dev->run(UCE_OP_GELU, {&xt.t}, &out.t).ok());
  for (size_t i = 0; i < x.size(); ++i) want[i] = gelu_ref(x[i]);
  expect_close(dev->read_f32(out), want, 1e-5, 1e-6, "gelu");

  ASSERT_TRUE(dev->run(UCE_OP_RELU, {&xt.t}, &out.t).ok());
  for (size_t i = 0; i < x.size(); ++i) want[i] = std::max<double>(x[i], 0.0);
  expect_close(dev->read_f32(out), want, 0, 0, "relu");

  ASSERT_TRUE(dev->run(UCE_OP_SCALE, {&xt.t}, &out.t, UCE_ACT_NONE, -0.375f).ok());
  for (size_t i = 0; i < x.size(); ++i) want[i] = double(x[i]) * -0.375;
  expect_close(dev->read_f32(out), want, 1e-7, 0, "scale");

  ASSERT_TRUE(dev->run(UCE_OP_ADD, {&xt.t, &yt.t}, &out.t).ok());
  for (size_t i = 0; i < x.size(); ++i) want[i] = double(x[i]) + y[i];
  expect_close(dev->read_f32(out), want, 1e-7, 0, "add");

  ASSERT_TRUE(dev->run(UCE_OP_ADD, {&xt.t, &rowt.t}, &out.t).ok());
  for (size_t i = 0; i < x.size(); ++i) want[i] = double(x[i]) + row[i % D];
  expect_close(dev->read_f32(out), want, 1e-7, 0, "add broadcast");

  // In place: dst aliases x.
  ASSERT_TRUE(dev->run(UCE_OP_GELU, {&out.t}, &out.t).ok());
  for (size_t i = 0; i < x.size(); ++i) want[i] = gelu_ref(float(double(x[i]) + row[i % D]));
  expect_close(dev->read_f32(out), want, 1e-5, 1e-6, "gelu in place");
}

// LINEAR through every implementation, with and without bias, each activation.
struct LinearShape {
  int n, m, k;
};

TEST_F(OpenCLOps, LinearEveryImplementation) {
  const std::vector<LinearShape> shapes = {{1, 7, 5}, {3, 130, 67}, {37, 70, 129}, {130, 129, 64}};
  for (const auto& s : shapes) {
    const auto x = random_floats(size_t(s.n) * s.k, 10 + s.n), w = random_floats(size_t(s.m) * s.k, 20 + s.m);
    const auto b = random_floats(s.m, 30);
    auto xt = dev->make_f32(s.n, s.k, x), wt = dev->make_f32(s.m, s.k, w), bt = dev->make_f32(1, s.m, b, 1);
    for (GemmKernel g : {GemmKernel::kTiled64, GemmKernel::kTiled128, GemmKernel::kSkinny, GemmKernel::kClblast}) {
      if (g == GemmKernel::kSkinny && s.n > 16) continue;
      if (g == GemmKernel::kClblast && !dev->be->clblast_available()) continue;
      dev->be->force_gemm(g);
      for (bool with_bias : {true, false})
        for (int act : {UCE_ACT_NONE, UCE_ACT_GELU, UCE_ACT_RELU}) {
          std::vector<double> want(size_t(s.n) * s.m);
          for (int i = 0; i < s.n; ++i)
            for (int j = 0; j < s.m; ++j) {
              double acc = with_bias ? b[j] : 0.0;
              for (int kk = 0; kk < s.k; ++kk) acc += double(x[size_t(i) * s.k + kk]) * w[size_t(j) * s.k + kk];
              want[size_t(i) * s.m + j] = act_ref(acc, act);
            }
          auto out = dev->out(UCE_F32, s.n, s.m);
          auto st = dev->run(UCE_OP_LINEAR, {&xt.t, &wt.t, with_bias ? &bt.t : nullptr}, &out.t, act);
          ASSERT_TRUE(st.ok()) << st.message;
          EXPECT_EQ(dev->be->last_gemm(), g);
          expect_close(dev->read_f32(out), want, 1e-4, 1e-5,
                       std::string("linear ") + uce::ocl::gemm_kernel_name(g) + " n" + std::to_string(s.n) +
                           " m" + std::to_string(s.m) + " k" + std::to_string(s.k) + " bias" +
                           std::to_string(with_bias) + " act" + std::to_string(act));
        }
    }
    dev->be->clear_forced_gemm();
  }
}

// The 3xTF32 tensor-core kernel (NVIDIA GPUs of compute capability >= 8.0; skipped elsewhere):
// tails in n, m and k, bias and activations, canaries around y, and fp32-class accuracy: every
// element within 1e-5 of the largest |y|. One TF32 product per term (the split lost) would be
// ~5e-4 off at k = 1024; a dropped cross term ~1e-3.
TEST_F(OpenCLOps, LinearTensorCoreTf32x3) {
  if (!dev->be->tensor_core_gemm()) GTEST_SKIP() << "no tensor-core GEMM: " << dev->be->describe();
  const std::vector<LinearShape> shapes = {{130, 136, 260}, {300, 384, 1024}, {17, 8, 4}};
  for (const auto& s : shapes) {
    const auto x = random_floats(size_t(s.n) * s.k, 40 + s.n), w = random_floats(size_t(s.m) * s.k, 50 + s.m);
    const auto b = random_floats(s.m, 60);
    // float4-aligned views (offset and stride multiples of 4), as the kernel requires.
    auto xt = dev->make(UCE_F32, s.n, s.k, x.data(), 2, 4, 8), wt = dev->make(UCE_F32, s.m, s.k, w.data(), 2, 4, 8);
    auto bt = dev->make_f32(1, s.m, b, 1);
    dev->be->force_gemm(GemmKernel::kMmaTf32x3);
    for (bool with_bias : {true, false})
      for (int act : {UCE_ACT_NONE, UCE_ACT_GELU}) {
        std::vector<double> want(size_t(s.n) * s.m);
        double scale = 0.0;
        for (int i = 0; i < s.n; ++i)
          for (int j = 0; j < s.m; ++j) {
            double acc = with_bias ? b[j] : 0.0;
            for (int kk = 0; kk < s.k; ++kk) acc += double(x[size_t(i) * s.k + kk]) * w[size_t(j) * s.k + kk];
            want[size_t(i) * s.m + j] = act_ref(acc, act);
            scale = std::max(scale, std::fabs(want[size_t(i) * s.m + j]));
          }
        auto out = dev->out(UCE_F32, s.n, s.m);
        auto st = dev->run(UCE_OP_LINEAR, {&xt.t, &wt.t, with_bias ? &bt.t : nullptr}, &out.t, act);
        ASSERT_TRUE(st.ok()) << st.message;
        EXPECT_EQ(dev->be->last_gemm(), GemmKernel::kMmaTf32x3);
        expect_close(dev->read_f32(out), want, 0.0, 1e-5 * scale,
                     "mma_tf32x3 n" + std::to_string(s.n) + " m" + std::to_string(s.m) + " k" +
                         std::to_string(s.k) + " bias" + std::to_string(with_bias) + " act" + std::to_string(act));
      }
    // A view the kernel cannot read as float4 is refused, not computed wrongly.
    auto odd = dev->make_f32(s.n, s.k, x);  // offset 5, stride k + 3
    auto out = dev->out(UCE_F32, s.n, s.m);
    EXPECT_FALSE(dev->run(UCE_OP_LINEAR, {&odd.t, &wt.t, nullptr}, &out.t).ok());
    dev->be->clear_forced_gemm();
  }
}

// CLBlast into the 128-row-padded scratch (x read past its n rows, here NaN rows of the same
// buffer, which must not reach y) and the plain call: same result, canaries around y intact.
TEST_F(OpenCLOps, LinearClblastPaddedScratch) {
  if (!dev->be->clblast_available()) GTEST_SKIP() << "CLBlast unavailable";
  const int n = 520, n_buf = 640, m = 70, k = 33;
  auto x = random_floats(size_t(n_buf) * k, 71, -1, 1);
  for (size_t i = size_t(n) * k; i < x.size(); ++i) x[i] = std::numeric_limits<float>::quiet_NaN();
  const auto w = random_floats(size_t(m) * k, 72, -1, 1), b = random_floats(m, 73, -1, 1);
  auto xt = dev->make_f32(n_buf, k, x), wt = dev->make_f32(m, k, w), bt = dev->make_f32(1, m, b, 1);
  xt.t.ne[0] = n;  // the op sees n rows; the buffer holds n_buf
  std::vector<double> want(size_t(n) * m);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < m; ++j) {
      double acc = b[j];
      for (int kk = 0; kk < k; ++kk) acc += double(x[size_t(i) * k + kk]) * w[size_t(j) * k + kk];
      want[size_t(i) * m + j] = act_ref(acc, UCE_ACT_GELU);
    }
  dev->be->force_gemm(GemmKernel::kClblast);
  for (bool pad : {true, false}) {
    dev->be->set_clblast_pad(pad);
    auto out = dev->out(UCE_F32, n, m);
    auto st = dev->run(UCE_OP_LINEAR, {&xt.t, &wt.t, &bt.t}, &out.t, UCE_ACT_GELU);
    ASSERT_TRUE(st.ok()) << st.message;
    EXPECT_EQ(dev->be->last_clblast_scratch(), pad);
    expect_close(dev->read_f32(out), want, 1e-4, 1e-5, std::string("clblast pad ") + (pad ? "on" : "off"));
  }
  dev->be->set_clblast_pad(true);
  dev->be->clear_forced_gemm();
}

// Every CLBlast Xgemm parameter set the GPU calibration may pick: valid for CLBlast's kernel-0
// constraints at a 256-thread / 48 KiB device, and exact on a shape that is not a multiple of any
// tile size (padding paths), with bias + activation.
TEST_F(OpenCLOps, LinearEveryClblastParameterSet) {
  if (!dev->be->clblast_available()) GTEST_SKIP() << "CLBlast unavailable on this device";
  ASSERT_GE(uce::ocl::clblast_set_count(), 2);
  std::set<std::string> labels;  // the choice file names sets by label: labels must be unique
  for (int set = 1; set < uce::ocl::clblast_set_count(); ++set) {
    EXPECT_TRUE(uce::ocl::clblast_set_fits(set, 256, 48 * 1024)) << uce::ocl::clblast_set_label(set);
    EXPECT_TRUE(labels.insert(uce::ocl::clblast_set_label(set)).second) << uce::ocl::clblast_set_label(set);
  }
  const int n = 150, m = 200, k = 100;
  const auto x = random_floats(size_t(n) * k, 71), w = random_floats(size_t(m) * k, 72), b = random_floats(m, 73);
  auto xt = dev->make_f32(n, k, x), wt = dev->make_f32(m, k, w), bt = dev->make_f32(1, m, b, 1);
  std::vector<double> want(size_t(n) * m);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < m; ++j) {
      double acc = b[j];
      for (int kk = 0; kk < k; ++kk) acc += double(x[size_t(i) * k + kk]) * w[size_t(j) * k + kk];
      want[size_t(i) * m + j] = act_ref(acc, UCE_ACT_RELU);
    }
  // Set 0 last: the process-wide CLBlast parameters end where other tests expect them.
  std::vector<int> order;
  for (int set = 1; set < uce::ocl::clblast_set_count(); ++set) order.push_back(set);
  order.push_back(0);
  for (int set : order) {
    dev->be->force_gemm(GemmKernel::kClblast);
    dev->be->force_clblast_set(set);
    auto out = dev->out(UCE_F32, n, m);
    auto st = dev->run(UCE_OP_LINEAR, {&xt.t, &wt.t, &bt.t}, &out.t, UCE_ACT_RELU);
    ASSERT_TRUE(st.ok()) << uce::ocl::clblast_set_label(set) << ": " << st.message;
    EXPECT_EQ(dev->be->last_clblast_set(), set);
    expect_close(dev->read_f32(out), want, 1e-4, 1e-5,
                 std::string("clblast set ") + uce::ocl::clblast_set_label(set));
  }
  dev->be->clear_forced_gemm();
}

TEST_F(OpenCLOps, LinearHalfAndBf16Weights) {
  const int n = 19, m = 45, k = 83;
  const auto x = random_floats(size_t(n) * k, 40), w = random_floats(size_t(m) * k, 41);
  auto xt = dev->make_f32(n, k, x);
  for (int dtype : {UCE_F16, UCE_BF16}) {
    std::vector<uint16_t> w16(w.size());
    std::vector<double> wf(w.size());
    for (size_t i = 0; i < w.size(); ++i) {
      w16[i] = dtype == UCE_F16 ? uce::float_to_half(w[i]) : uce::float_to_bf16(w[i]);
      wf[i] = dtype == UCE_F16 ? uce::half_to_float(w16[i]) : uce::bf16_to_float(w16[i]);
    }
    auto wt = dev->make(dtype, m, k, w16.data());
    std::vector<double> want(size_t(n) * m);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < m; ++j) {
        double acc = 0;
        for (int kk = 0; kk < k; ++kk) acc += double(x[size_t(i) * k + kk]) * wf[size_t(j) * k + kk];
        want[size_t(i) * m + j] = acc;
      }
    for (GemmKernel g : {GemmKernel::kTiled64, GemmKernel::kTiled128}) {
      dev->be->force_gemm(g);
      auto out = dev->out(UCE_F32, n, m);
      auto st = dev->run(UCE_OP_LINEAR, {&xt.t, &wt.t, nullptr}, &out.t);
      ASSERT_TRUE(st.ok()) << st.message;
      expect_close(dev->read_f32(out), want, 1e-4, 1e-5, std::string("linear W ") + uce::dtype_name(dtype));
    }
    dev->be->clear_forced_gemm();
  }
}

// Straightforward attention from ops.hpp: scores, softmax with max subtraction, weighted sum.
std::vector<double> attention_ref(const std::vector<float>& qkv, int N, int d, int heads,
                                  const std::vector<int32_t>& seg, const std::vector<float>* bias,
                                  const std::vector<uint8_t>* mask, const std::vector<int32_t>& rows,
                                  double scale) {
  const int hd = d / heads;
  std::vector<double> out(rows.size() * size_t(d), 0.0);
  for (size_t qi = 0; qi < rows.size(); ++qi) {
    const int i = rows[qi];
    int s = 0;
    while (!(seg[s] <= i && i < seg[s + 1])) ++s;
    for (int h = 0; h < heads; ++h) {
      std::vector<double> logit;
      std::vector<int> keys;
      for (int j = seg[s]; j < seg[s + 1]; ++j) {
        if (mask && (*mask)[j]) continue;
        double dot = 0;
        for (int c = 0; c < hd; ++c)
          dot += double(qkv[size_t(i) * 3 * d + h * hd + c]) * qkv[size_t(j) * 3 * d + d + h * hd + c];
        logit.push_back(dot * scale + (bias ? (*bias)[j] : 0.0));
        keys.push_back(j);
      }
      if (keys.empty()) continue;
      double mx = -1e300, sum = 0;
      for (double l : logit) mx = std::max(mx, l);
      for (double& l : logit) sum += (l = std::exp(l - mx));
      for (size_t t = 0; t < keys.size(); ++t)
        for (int c = 0; c < hd; ++c)
          out[qi * d + h * hd + c] += logit[t] / sum * qkv[size_t(keys[t]) * 3 * d + 2 * d + h * hd + c];
    }
  }
  (void)N;
  return out;
}

TEST_F(OpenCLOps, AttentionPackedSegmentsBiasMaskQueryRows) {
  struct Case {
    int heads, hd;
    std::vector<int32_t> seg;
  };
  // Sequences shorter and longer than one key tile and one query block, an empty sequence, and
  // sequences that straddle work-group boundaries.
  const std::vector<Case> cases = {{2, 64, {0, 5, 5, 77, 150}}, {3, 3, {0, 1, 40}}, {20, 64, {0, 131}},
                                   {2, 80, {0, 33, 66}}, {1, 64, {0, 1, 70}}};
  for (const auto& cs : cases) {
    const int N = cs.seg.back(), d = cs.heads * cs.hd;
    const auto qkv = random_floats(size_t(N) * 3 * d, 50 + N, -2, 2);
    std::vector<float> bias(N);
    std::vector<uint8_t> mask(N, 0);
    for (int j = 0; j < N; ++j) {
      bias[j] = (j % 3 == 0) ? 1.0f : 0.0f;
      mask[j] = (j % 5 == 1) ? 1 : 0;
    }
    // The whole first sequence masked when it is a single row: its query must give zeros.
    if (cs.seg[1] == 1) mask[0] = 1;
    std::vector<int32_t> all(N), some = {N - 1, 0, N / 2, 0};
    for (int i = 0; i < N; ++i) all[i] = i;
    const double scale = 1.0 / std::sqrt(double(cs.hd));
    auto qt = dev->make_f32(N, 3 * d, qkv);
    auto st_seg = dev->make_i32(cs.seg);
    auto bt = dev->make_f32(1, N, bias, 1);
    auto mt = dev->make(UCE_U8, 1, N, mask.data(), 1);
    auto rt = dev->make_i32(some);
    // Every kernel: attention_tiled2.cl and attention.cl (forced, and for other dims), the
    // tensor-core kernel where the device has one (forced, so that it also takes the few query
    // rows the default gives attention_tiled2.cl), and the default choice.
    using uce::ocl::AttentionKernel;
    std::vector<AttentionKernel> kernels = {AttentionKernel::kAuto, AttentionKernel::kTiled2,
                                            AttentionKernel::kSimple};
    if (dev->be->tensor_core_attention()) kernels.push_back(AttentionKernel::kMmaTf32x3);
    for (size_t variant = 0; variant < kernels.size() * 3; ++variant) {
      const AttentionKernel forced = kernels[variant / 3];
      dev->be->force_attention(forced);
      const bool use_bias = variant % 3 >= 1, use_mask = variant % 3 == 2, use_rows = variant % 3 == 2;
      const auto& rows = use_rows ? some : all;
      const auto want = attention_ref(qkv, N, d, cs.heads, cs.seg, use_bias ? &bias : nullptr,
                                      use_mask ? &mask : nullptr, rows, scale);
      auto out = dev->out(UCE_F32, int64_t(rows.size()), d);
      auto st = dev->run(UCE_OP_ATTENTION,
                         {&qt.t, &st_seg.t, use_bias ? &bt.t : nullptr, use_mask ? &mt.t : nullptr,
                          use_rows ? &rt.t : nullptr},
                         &out.t, UCE_ACT_NONE, float(scale), 0, cs.heads);
      ASSERT_TRUE(st.ok()) << st.message;
      AttentionKernel expected = forced;
      if (forced == AttentionKernel::kAuto)  // few query rows from many sequences: attention_tiled2.cl
        expected = dev->be->tensor_core_attention() && !use_rows ? AttentionKernel::kMmaTf32x3
                                                                  : AttentionKernel::kTiled2;
      if (cs.hd != 64) expected = AttentionKernel::kSimple;
      EXPECT_EQ(dev->be->last_attention(), expected) << "variant " << variant;
      expect_close(dev->read_f32(out), want, 1e-4, 1e-5,
                   "attention heads" + std::to_string(cs.heads) + " hd" + std::to_string(cs.hd) +
                       " N" + std::to_string(N) + " variant" + std::to_string(variant));
    }
  }
  dev->be->force_attention(uce::ocl::AttentionKernel::kAuto);
}

TEST_F(OpenCLOps, CopyConversionsAndSameTypeCopy) {
  const int n = 6, D = 29;
  const auto x = random_floats(n * D, 60, -70000, 70000);  // overflows f16 on purpose
  auto xt = dev->make_f32(n, D, x);
  for (int dt : {UCE_F16, UCE_BF16}) {
    auto half_t = dev->out(dt, n, D);
    ASSERT_TRUE(dev->run(UCE_OP_COPY, {&xt.t}, &half_t.t).ok());
    auto bytes = dev->read(half_t);
    std::vector<uint16_t> got(bytes.size() / 2);
    std::memcpy(got.data(), bytes.data(), bytes.size());
    size_t bad = 0;
    for (size_t i = 0; i < got.size(); ++i)
      bad += got[i] != (dt == UCE_F16 ? uce::float_to_half(x[i]) : uce::float_to_bf16(x[i]));
    EXPECT_EQ(bad, 0u) << "f32 -> " << uce::dtype_name(dt) << " rounding";
    auto back = dev->out(UCE_F32, n, D);
    ASSERT_TRUE(dev->run(UCE_OP_COPY, {&half_t.t}, &back.t).ok());
    std::vector<double> want(got.size());
    for (size_t i = 0; i < got.size(); ++i)
      want[i] = dt == UCE_F16 ? uce::half_to_float(got[i]) : uce::bf16_to_float(got[i]);
    expect_close(dev->read_f32(back), want, 0, 0, std::string(uce::dtype_name(dt)) + " -> f32");
  }
  std::vector<int32_t> iv(n * D);
  for (size_t i = 0; i < iv.size(); ++i) iv[i] = int32_t(i * 7919 - 3);
  auto it = dev->make(UCE_I32, n, D, iv.data());
  auto io = dev->out(UCE_I32, n, D);
  ASSERT_TRUE(dev->run(UCE_OP_COPY, {&it.t}, &io.t).ok());
  auto bytes = dev->read(io);
  EXPECT_EQ(0, std::memcmp(bytes.data(), iv.data(), bytes.size()));
}

TEST_F(OpenCLOps, AddRowsPeAndSegmentMean) {
  const int N = 10, D = 33, P = 12;
  const auto x = random_floats(N * D, 70), pe = random_floats(P * D, 71);
  const std::vector<int32_t> pos = {0, 1, 2, 3, 0, 1, 11, 5, 5, 9};
  auto xt = dev->make_f32(N, D, x), pt = dev->make_f32(P, D, pe);
  auto post = dev->make_i32(pos);
  auto out = dev->out(UCE_F32, N, D);
  ASSERT_TRUE(dev->run(UCE_OP_ADD_ROWS_PE, {&xt.t, &pt.t, &post.t}, &out.t).ok());
  std::vector<double> want(x.size());
  for (int i = 0; i < N; ++i)
    for (int c = 0; c < D; ++c) want[i * D + c] = double(x[i * D + c]) + pe[pos[i] * D + c];
  expect_close(dev->read_f32(out), want, 1e-7, 0, "add_rows_pe");

  const std::vector<int32_t> seg = {0, 4, 4, 9, 10};  // the second segment is empty: zeros
  auto segt = dev->make_i32(seg);
  auto mean = dev->out(UCE_F32, 4, D);
  ASSERT_TRUE(dev->run(UCE_OP_SEGMENT_MEAN, {&xt.t, &segt.t}, &mean.t).ok());
  std::vector<double> wm(4 * D, 0.0);
  for (int s = 0; s < 4; ++s)
    for (int c = 0; c < D; ++c) {
      double acc = 0;
      for (int r = seg[s]; r < seg[s + 1]; ++r) acc += x[r * D + c];
      wm[s * D + c] = seg[s + 1] > seg[s] ? acc / (seg[s + 1] - seg[s]) : 0.0;
    }
  expect_close(dev->read_f32(mean), wm, 1e-6, 1e-7, "segment_mean");
}

TEST_F(OpenCLOps, RefusesWhatItCannotRun) {
  const std::vector<float> v(12, 1.0f);
  auto x = dev->make_f32(3, 4, v);
  auto bad_dst = dev->out(UCE_F32, 3, 5);
  uce_op op{};
  op.struct_size = sizeof(op);
  op.type = UCE_OP_GELU;
  op.n_srcs = 1;
  op.srcs[0] = &x.t;
  op.dst = &bad_dst.t;
  std::string why;
  EXPECT_FALSE(dev->be->supports(op, &why));
  EXPECT_NE(why.find("dst"), std::string::npos) << why;
  auto st = dev->be->compute(op);
  EXPECT_EQ(st.code, UCE_ERR_INVALID_ARGUMENT);
  op.type = UCE_OP_LAYERNORM;
  op.act_before_norm = 1;
  EXPECT_FALSE(dev->be->supports(op, &why));

  // LINEAR in place (dst overlapping x) would read rows other work-groups already wrote.
  auto w = dev->make_f32(4, 4, std::vector<float>(16, 0.5f));
  uce_op lin{};
  lin.struct_size = sizeof(lin);
  lin.type = UCE_OP_LINEAR;
  lin.n_srcs = 3;
  lin.srcs[0] = &x.t;
  lin.srcs[1] = &w.t;
  lin.dst = &x.t;
  EXPECT_FALSE(dev->be->supports(lin, &why));
  EXPECT_NE(why.find("overlaps"), std::string::npos) << why;

  // A buffer this backend did not allocate is refused, not dereferenced.
  uce_buffer foreign{};
  foreign.bytes = 1 << 20;
  uce_tensor ft = x.t;
  ft.buffer = &foreign;
  uce_op relu{};
  relu.struct_size = sizeof(relu);
  relu.type = UCE_OP_RELU;
  relu.n_srcs = 1;
  relu.srcs[0] = &ft;
  relu.dst = &x.t;
  st = dev->be->compute(relu);
  EXPECT_EQ(st.code, UCE_ERR_INVALID_ARGUMENT);
  EXPECT_NE(st.message.find("did not allocate"), std::string::npos) << st.message;
}

}  // namespace
