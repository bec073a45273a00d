// The decision behind the register kernels of the Vulkan plugin: which probe outputs are accepted
// as a known cooperative-matrix fragment layout (plugins/vulkan/src/vk_fragment_layout.cpp).
// The probe outputs here are made from the layouts as tables: PTX ISA "matrix fragments for
// mma.m16n8k16" (accumulator c0..c3, A a0..a7), and the component order the H100's Vulkan driver
// reported (its A fragment holds the column halves before the row halves). No GPU needed.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "vk_fragment_layout.hpp"

namespace {

using uce_vk::MmaAOrder;

struct Offset {
  int row, col;  // added to (lane / 4, 2 * (lane % 4))
};
const std::vector<Offset> k_acc = {{0, 0}, {0, 1}, {8, 0}, {8, 1}};
const std::vector<Offset> k_a_ptx = {{0, 0}, {0, 1}, {8, 0}, {8, 1}, {0, 8}, {0, 9}, {8, 8}, {8, 9}};
const std::vector<Offset> k_a_h100 = {{0, 0}, {0, 1}, {0, 8}, {0, 9}, {8, 0}, {8, 1}, {8, 8}, {8, 9}};

// What coopmat_layout_probe.comp writes for a device with these layouts: C(r, c) = 8r + c,
// A(r, c) = 16r + c, B = identity, so (A B + C)(r, c) = A(r, c) + C(r, c).
std::vector<float> probe_output(const std::vector<Offset>& acc, const std::vector<Offset>& a) {
  std::vector<float> out(uce_vk::k_probe_out_floats, -1.0f);
  for (int lane = 0; lane < 32; ++lane) {
    const int g = lane / 4, c0 = 2 * (lane % 4);
    for (size_t e = 0; e < acc.size(); ++e) out[lane * 16 + e] = float((g + acc[e].row) * 8 + c0 + acc[e].col);
    for (size_t e = 0; e < a.size(); ++e) out[lane * 16 + 4 + e] = float((g + a[e].row) * 16 + c0 + a[e].col);
  }
  out[512] = float(acc.size());
  out[513] = float(a.size());
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 8; ++c) out[640 + r * 8 + c] = float(r * 16 + c + r * 8 + c);
  return out;
}

TEST(FragmentLayout, PtxOrderIsRowsInner) {
  std::string why;
  EXPECT_EQ(uce_vk::match_fragment_layout(probe_output(k_acc, k_a_ptx), &why), MmaAOrder::kRowsInner) << why;
}

TEST(FragmentLayout, H100DriverOrderIsRowsOuter) {
  std::string why;
  EXPECT_EQ(uce_vk::match_fragment_layout(probe_output(k_acc, k_a_h100), &why), MmaAOrder::kRowsOuter) << why;
}

TEST(FragmentLayout, OtherAOrderIsRejectedWithTheComponent) {
  // Pairs down a column instead of along a row.
  const std::vector<Offset> a = {{0, 0}, {1, 0}, {8, 0}, {9, 0}, {0, 8}, {1, 8}, {8, 8}, {9, 8}};
  std::string why;
  EXPECT_EQ(uce_vk::match_fragment_layout(probe_output(k_acc, a), &why), MmaAOrder::kNone);
  EXPECT_NE(why.find("16x16 f16 lane 0 component 1"), std::string::npos) << why;
}

TEST(FragmentLayout, OtherAccumulatorLayoutIsRejected) {
  const std::vector<Offset> acc = {{0, 0}, {8, 0}, {0, 1}, {8, 1}};
  std::string why;
  EXPECT_EQ(uce_vk::match_fragment_layout(probe_output(acc, k_a_ptx), &why), MmaAOrder::kNone);
  EXPECT_NE(why.find("16x8 f32 lane 0 component 1"), std::string::npos) << why;
}

TEST(FragmentLayout, OtherComponentCountsAreRejected) {
  auto out = probe_output(k_acc, k_a_ptx);
  out[512] = 8;  // e.g. a 16x16 accumulator
  std::string why;
  EXPECT_EQ(uce_vk::match_fragment_layout(out, &why), MmaAOrder::kNone);
  EXPECT_NE(why.find("components per invocation"), std::string::npos) << why;
}

TEST(FragmentLayout, WrongMultiplyAddIsRejected) {
  auto out = probe_output(k_acc, k_a_h100);
  out[640 + 5 * 8 + 3] += 1.0f;
  std::string why;
  EXPECT_EQ(uce_vk::match_fragment_layout(out, &why), MmaAOrder::kNone);
  EXPECT_NE(why.find("multiply-add (A B + C)(5,3)"), std::string::npos) << why;
}

TEST(FragmentLayout, ShortOutputIsRejected) {
  std::string why;
  EXPECT_EQ(uce_vk::match_fragment_layout(std::vector<float>(100, 0.0f), &why), MmaAOrder::kNone);
  EXPECT_NE(why.find("100 floats"), std::string::npos) << why;
}

}  // namespace
