// reference_backend_test.cpp — the reference backend is the oracle of the op harness, so it is
// checked here against values derived by hand (closed forms written out in the comments), never
// against anything it computed itself.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "uce/backend.hpp"
#include "uce/half.hpp"
#include "uce/plugin_loader.hpp"

namespace {

// A host tensor whose storage the test owns (buffer = NULL, host_data set: allowed for reference).
struct T {
  std::vector<uint8_t> bytes;
  uce_tensor t{};

  template <typename V>
  static T make(int dtype, int ndim, int64_t rows, int64_t cols, const std::vector<V>& values) {
    T x;
    x.bytes.resize(values.size() * sizeof(V));
    std::memcpy(x.bytes.data(), values.data(), x.bytes.size());
    x.t.dtype = dtype;
    x.t.ndim = ndim;
    x.t.ne[0] = rows;
    x.t.ne[1] = ndim == 2 ? cols : 0;
    x.t.stride[0] = ndim == 2 ? cols : 1;
    x.t.stride[1] = 1;
    x.t.host_data = x.bytes.data();
    return x;
  }
  static T mat(int64_t rows, int64_t cols, const std::vector<float>& v) { return make(UCE_F32, 2, rows, cols, v); }
  static T zeros(int64_t rows, int64_t cols) { return mat(rows, cols, std::vector<float>(static_cast<size_t>(rows * cols), 0.0f)); }
  static T vec(const std::vector<float>& v) { return make(UCE_F32, 1, static_cast<int64_t>(v.size()), 1, v); }
  static T i32(const std::vector<int32_t>& v) { return make(UCE_I32, 1, static_cast<int64_t>(v.size()), 1, v); }
  static T u8(const std::vector<uint8_t>& v) { return make(UCE_U8, 1, static_cast<int64_t>(v.size()), 1, v); }
  float f(int64_t i) const { return reinterpret_cast<const float*>(bytes.data())[i]; }
  uint16_t h(int64_t i) const { return reinterpret_cast<const uint16_t*>(bytes.data())[i]; }
};

class ReferenceBackend : public ::testing::Test {
 protected:
  void SetUp() override {
    uce_backend_options o{};
    o.struct_size = sizeof(o);
    o.threads = 2;
    o.device_index = -1;
    auto b = uce::Backend::open(uce::reference_backend_header(), o);
    ASSERT_TRUE(b.is_ok()) << b.message();
    backend = b.take();
  }

  uce::Status run(int type, std::vector<T*> srcs, T& dst, int act = UCE_ACT_NONE, float eps = 0.0f,
                  float scale = 1.0f, int heads = 0) {
    uce_op op{};
    op.struct_size = sizeof(op);
    op.type = type;
    op.activation = act;
    op.eps = eps;
    op.scale = scale;
    op.n_heads = heads;
    op.n_srcs = static_cast<int32_t>(srcs.size());
    for (size_t i = 0; i < srcs.size(); ++i) op.srcs[i] = srcs[i] ? &srcs[i]->t : nullptr;
    op.dst = &dst.t;
    op.name = "test";
    std::string why;
    if (!backend->supports(op, &why)) return uce::Status::error("unsupported: " + why);
    return backend->compute(op);
  }

  std::unique_ptr<uce::Backend> backend;
};

TEST(ReferenceHeader, IsAValidBuiltInBackend) {
  const uce_plugin_header* h = uce::reference_backend_header();
  ASSERT_NE(h, nullptr);
  EXPECT_STREQ(h->name, "reference");
  EXPECT_EQ(h->kind, UCE_PLUGIN_BACKEND);
  EXPECT_TRUE(uce::validate_plugin_header(h, "<built-in>").is_ok());
  EXPECT_GT(h->probe(nullptr, 0), 0);
}

TEST_F(ReferenceBackend, GeluKnownValues) {
  // gelu(v) = v * Phi(v): Phi(1) = 0.8413447460685429, Phi(-1) = 0.15865525393145707,
  // Phi(2) = 0.9772498680518208, Phi(0) = 1/2.
  T x = T::mat(1, 4, {1.0f, -1.0f, 2.0f, 0.0f});
  T y = T::zeros(1, 4);
  ASSERT_TRUE(run(UCE_OP_GELU, {&x}, y).is_ok());
  EXPECT_FLOAT_EQ(y.f(0), 0.8413447460685429f);
  EXPECT_FLOAT_EQ(y.f(1), -0.15865525393145707f);
  EXPECT_FLOAT_EQ(y.f(2), 1.9544997361036416f);
  EXPECT_FLOAT_EQ(y.f(3), 0.0f);
}

TEST_F(ReferenceBackend, LayerNorm2x3ByHand) {
  // Row [1,2,3]: mean 2, biased var 2/3, so (v - mean)/sqrt(var) = [-1, 0, 1] * sqrt(3/2).
  // Row [-1,0,4] + residual [1,1,-1] = [0,1,3]: mean 4/3, var ((16+1+25)/9)/3 = 14/9,
  //   normalised = [-4/3, -1/3, 5/3] / sqrt(14/9) = [-4, -1, 5] / sqrt(14).
  // gamma = [1, 2, -1], beta = [0, 0.5, 1], eps = 0.
  T x = T::mat(2, 3, {1, 2, 3, -1, 0, 4});
  T res = T::mat(2, 3, {0, 0, 0, 1, 1, -1});
  T gamma = T::vec({1, 2, -1});
  T beta = T::vec({0, 0.5f, 1});
  T y = T::zeros(2, 3);
  ASSERT_TRUE(run(UCE_OP_LAYERNORM, {&x, &gamma, &beta, &res}, y).is_ok());
  const double s = std::sqrt(1.5), r14 = std::sqrt(14.0);
  const double want[6] = {-s, 0.0 * 2 + 0.5, -s + 1, -4 / r14, -1 / r14 * 2 + 0.5, -5 / r14 + 1};
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(y.f(i), want[i], 1e-6) << i;
}

TEST_F(ReferenceBackend, LayerNormActivationThenScale) {
  // [1,3] normalises to [-1, 1]; relu -> [0, 1]; * 4 -> [0, 4]. eps 0.
  T x = T::mat(1, 2, {1, 3});
  T gamma = T::vec({1, 1});
  T beta = T::vec({0, 0});
  T y = T::zeros(1, 2);
  ASSERT_TRUE(run(UCE_OP_LAYERNORM, {&x, &gamma, &beta, nullptr}, y, UCE_ACT_RELU, 0.0f, 4.0f).is_ok());
  EXPECT_FLOAT_EQ(y.f(0), 0.0f);
  EXPECT_FLOAT_EQ(y.f(1), 4.0f);
}

TEST_F(ReferenceBackend, LinearWithBiasAndRelu) {
  // x = [[1,2,3],[0,-1,1]], W = [[1,0,1],[2,1,0]], b = [0.5,-5]
  // x W^T = [[4,4],[1,-1]]; + b = [[4.5,-1],[1.5,-6]]; relu -> [[4.5,0],[1.5,0]].
  T x = T::mat(2, 3, {1, 2, 3, 0, -1, 1});
  T w = T::mat(2, 3, {1, 0, 1, 2, 1, 0});
  T b = T::vec({0.5f, -5});
  T y = T::zeros(2, 2);
  ASSERT_TRUE(run(UCE_OP_LINEAR, {&x, &w, &b}, y, UCE_ACT_RELU).is_ok());
  EXPECT_FLOAT_EQ(y.f(0), 4.5f);
  EXPECT_FLOAT_EQ(y.f(1), 0.0f);
  EXPECT_FLOAT_EQ(y.f(2), 1.5f);
  EXPECT_FLOAT_EQ(y.f(3), 0.0f);
}

TEST_F(ReferenceBackend, LinearWithF16Weights) {
  // W in f16: 0x3C00 = 1, 0xC000 = -2, 0x3800 = 0.5. x = [2, 3]: [2*1 + 3*(-2)] = -4; [2*0.5 + 0] = 1.
  T x = T::mat(1, 2, {2, 3});
  T w = T::make<uint16_t>(UCE_F16, 2, 2, 2, {0x3C00, 0xC000, 0x3800, 0x0000});
  T y = T::zeros(1, 2);
  ASSERT_TRUE(run(UCE_OP_LINEAR, {&x, &w, nullptr}, y).is_ok());
  EXPECT_FLOAT_EQ(y.f(0), -4.0f);
  EXPECT_FLOAT_EQ(y.f(1), 1.0f);
}

// One head, head dim 1, scale 1: qkv rows are [q, k, v].
TEST_F(ReferenceBackend, AttentionTwoKeysByHand) {
  // Row 0: q=1, k=0, v=4; row 1: q=0, k=ln 3, v=8. Query 0 logits [0, ln 3] -> p = [1/4, 3/4],
  // out = 4/4 + 24/4 = 7. Query 1 logits [0, 0] -> p = [1/2, 1/2], out = 6.
  const float ln3 = static_cast<float>(std::log(3.0));
  T qkv = T::mat(2, 3, {1, 0, 4, 0, ln3, 8});
  T seg = T::i32({0, 2});
  T y = T::zeros(2, 1);
  ASSERT_TRUE(run(UCE_OP_ATTENTION, {&qkv, &seg}, y, UCE_ACT_NONE, 0.0f, 1.0f, 1).is_ok());
  EXPECT_NEAR(y.f(0), 7.0f, 1e-6);
  EXPECT_NEAR(y.f(1), 6.0f, 1e-6);

  // key_bias [ln 3, 0]: query 0 logits [ln 3, ln 3] -> out 6; query 1 logits [ln 3, 0] -> p =
  // [3/4, 1/4], out = 3 + 2 = 5.
  T bias = T::vec({ln3, 0});
  ASSERT_TRUE(run(UCE_OP_ATTENTION, {&qkv, &seg, &bias}, y, UCE_ACT_NONE, 0.0f, 1.0f, 1).is_ok());
  EXPECT_NEAR(y.f(0), 6.0f, 1e-6);
  EXPECT_NEAR(y.f(1), 5.0f, 1e-6);

  // key_mask [0, 1]: only key 0 remains -> both queries get v0 = 4.
  T mask = T::u8({0, 1});
  ASSERT_TRUE(run(UCE_OP_ATTENTION, {&qkv, &seg, nullptr, &mask}, y, UCE_ACT_NONE, 0.0f, 1.0f, 1).is_ok());
  EXPECT_FLOAT_EQ(y.f(0), 4.0f);
  EXPECT_FLOAT_EQ(y.f(1), 4.0f);

  // Every key masked: zeros.
  T all = T::u8({1, 1});
  ASSERT_TRUE(run(UCE_OP_ATTENTION, {&qkv, &seg, nullptr, &all}, y, UCE_ACT_NONE, 0.0f, 1.0f, 1).is_ok());
  EXPECT_EQ(y.f(0), 0.0f);
  EXPECT_EQ(y.f(1), 0.0f);
}

TEST_F(ReferenceBackend, AttentionSegmentsHeadsAndQueryRows) {
  // Two sequences {row 0} and {rows 1, 2}; two heads of dim 1 (d = 2); scale 1.
  // Columns: q0 q1 | k0 k1 | v0 v1.
  // Row 0 attends only to itself: out = v of row 0 = [1, 2].
  // Rows 1, 2: head 0 keys k0 = [0, ln 3], head 1 keys k1 = [0, 0].
  // Row 2 with q = [1, 1]: head 0 logits [0, ln 3] -> p [1/4, 3/4] over v0 = [10, 20] -> 17.5;
  //   head 1 logits [0, 0] -> p [1/2, 1/2] over v1 = [30, 50] -> 40.
  const float ln3 = static_cast<float>(std::log(3.0));
  T qkv = T::mat(3, 6, {5, 5, 7, 7, 1, 2,  //
                        0, 0, 0, 0, 10, 30,  //
                        1, 1, ln3, 0, 20, 50});
  T seg = T::i32({0, 1, 3});
  T rows = T::i32({2, 0});  // output row 0 = query row 2, output row 1 = query row 0
  T y = T::zeros(2, 2);
  ASSERT_TRUE(run(UCE_OP_ATTENTION, {&qkv, &seg, nullptr, nullptr, &rows}, y, UCE_ACT_NONE, 0.0f, 1.0f, 2).is_ok());
  EXPECT_NEAR(y.f(0), 17.5f, 1e-5);
  EXPECT_NEAR(y.f(1), 40.0f, 1e-5);
  EXPECT_FLOAT_EQ(y.f(2), 1.0f);
  EXPECT_FLOAT_EQ(y.f(3), 2.0f);
}

TEST_F(ReferenceBackend, L2NormRowsIncludingZeroRow) {
  // [3,4] / 5 = [0.6, 0.8]; a zero row divides by eps and stays zero.
  T x = T::mat(2, 2, {3, 4, 0, 0});
  T y = T::zeros(2, 2);
  ASSERT_TRUE(run(UCE_OP_L2NORM_ROWS, {&x}, y, UCE_ACT_NONE, 1e-12f).is_ok());
  EXPECT_FLOAT_EQ(y.f(0), 0.6f);
  EXPECT_FLOAT_EQ(y.f(1), 0.8f);
  EXPECT_EQ(y.f(2), 0.0f);
  EXPECT_EQ(y.f(3), 0.0f);
}

TEST_F(ReferenceBackend, GatherAddPeSegmentMean) {
  T table = T::mat(3, 2, {1, 2, 3, 4, 5, 6});
  T idx = T::i32({2, 0, 2});
  T g = T::zeros(3, 2);
  ASSERT_TRUE(run(UCE_OP_GATHER_ROWS, {&table, &idx}, g).is_ok());
  const float want_g[6] = {5, 6, 1, 2, 5, 6};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(g.f(i), want_g[i]);

  T pe = T::mat(2, 2, {100, 200, 300, 400});
  T pos = T::i32({1, 1, 0});
  T p = T::zeros(3, 2);
  ASSERT_TRUE(run(UCE_OP_ADD_ROWS_PE, {&g, &pe, &pos}, p).is_ok());
  const float want_p[6] = {305, 406, 301, 402, 105, 206};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(p.f(i), want_p[i]);

  // Segments {0,1}, {}, {2}: means [3,4], zeros (empty), [5,6].
  T seg = T::i32({0, 2, 2, 3});
  T m = T::zeros(3, 2);
  ASSERT_TRUE(run(UCE_OP_SEGMENT_MEAN, {&g, &seg}, m).is_ok());
  const float want_m[6] = {3, 4, 0, 0, 5, 6};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(m.f(i), want_m[i]);
}

TEST_F(ReferenceBackend, AddBroadcastAndScale) {
  T a = T::mat(2, 2, {1, 2, 3, 4});
  T b = T::mat(1, 2, {10, 20});
  T y = T::zeros(2, 2);
  ASSERT_TRUE(run(UCE_OP_ADD, {&a, &b}, y).is_ok());
  EXPECT_EQ(y.f(2), 13.0f);
  EXPECT_EQ(y.f(3), 24.0f);
  T z = T::zeros(2, 2);
  ASSERT_TRUE(run(UCE_OP_SCALE, {&y}, z, UCE_ACT_NONE, 0.0f, -0.5f).is_ok());
  EXPECT_EQ(z.f(0), -5.5f);
}

TEST_F(ReferenceBackend, CopyRoundsToNearestEven) {
  // f16: 1 = 0x3C00, 65504 = 0x7BFF (largest), 1 + 2^-11 is a tie -> even 0x3C00,
  // 1 + 3*2^-11 is a tie -> even 0x3C02, 2^-24 = 0x0001 (smallest subnormal).
  // bf16: 1 + 2^-8 is a tie -> 0x3F80; 1 + 3*2^-8 -> 0x3F82.
  T x = T::mat(1, 5, {1.0f, 65504.0f, 1.0f + 0x1p-11f, 1.0f + 3 * 0x1p-11f, 0x1p-24f});
  T h = T::make<uint16_t>(UCE_F16, 2, 1, 5, std::vector<uint16_t>(5, 0));
  ASSERT_TRUE(run(UCE_OP_COPY, {&x}, h).is_ok());
  EXPECT_EQ(h.h(0), 0x3C00);
  EXPECT_EQ(h.h(1), 0x7BFF);
  EXPECT_EQ(h.h(2), 0x3C00);
  EXPECT_EQ(h.h(3), 0x3C02);
  EXPECT_EQ(h.h(4), 0x0001);
  T xb = T::mat(1, 2, {1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f});
  T b = T::make<uint16_t>(UCE_BF16, 2, 1, 2, std::vector<uint16_t>(2, 0));
  ASSERT_TRUE(run(UCE_OP_COPY, {&xb}, b).is_ok());
  EXPECT_EQ(b.h(0), 0x3F80);
  EXPECT_EQ(b.h(1), 0x3F82);
}

TEST_F(ReferenceBackend, RejectsBadShapesAndValues) {
  T x = T::mat(2, 3, {1, 2, 3, 4, 5, 6});
  T w = T::mat(2, 4, {1, 1, 1, 1, 1, 1, 1, 1});  // K mismatch
  T y = T::zeros(2, 2);
  const uce::Status st = run(UCE_OP_LINEAR, {&x, &w, nullptr}, y);
  EXPECT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("columns"), std::string::npos) << st.message();

  T table = T::mat(2, 3, {1, 2, 3, 4, 5, 6});
  T idx = T::i32({0, 2});  // 2 is outside [0, 2)
  const uce::Status st2 = run(UCE_OP_GATHER_ROWS, {&table, &idx}, x);
  EXPECT_FALSE(st2.is_ok());
  EXPECT_NE(st2.message().find("idx[1]"), std::string::npos) << st2.message();

  T qkv = T::mat(2, 3, {1, 0, 4, 0, 1, 8});
  T seg = T::i32({0, 1});  // does not end at n = 2
  T out = T::zeros(2, 1);
  EXPECT_FALSE(run(UCE_OP_ATTENTION, {&qkv, &seg}, out, UCE_ACT_NONE, 0.0f, 1.0f, 1).is_ok());
}

}  // namespace
