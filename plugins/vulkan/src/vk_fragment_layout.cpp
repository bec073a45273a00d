// vk_fragment_layout.cpp — checks the layout probe's output against the fragment layouts the
// register kernels assume (see vk_fragment_layout.hpp).
#include "vk_fragment_layout.hpp"

#include <cstdio>

namespace uce_vk {
namespace {

constexpr uint32_t k_lanes = 32;

// The layouts attention_coopmat_regs.comp can work with (NVIDIA's m16n8k16 fragments): one for the
// accumulator, two orders of the A fragment's components (pairs of columns; the row halves vary
// before the column halves, as in PTX, or after them, as the H100's Vulkan driver has them).
void expected_acc(uint32_t lane, uint32_t e, uint32_t* row, uint32_t* col) {
  *row = lane / 4 + 8 * (e / 2);
  *col = 2 * (lane % 4) + e % 2;
}
void expected_a(MmaAOrder order, uint32_t lane, uint32_t e, uint32_t* row, uint32_t* col) {
  const uint32_t row_half = order == MmaAOrder::kRowsInner ? (e / 2) % 2 : e / 4;
  const uint32_t col_half = order == MmaAOrder::kRowsInner ? e / 4 : (e / 2) % 2;
  *row = lane / 4 + 8 * row_half;
  *col = 2 * (lane % 4) + e % 2 + 8 * col_half;
}

// Compares the probe's output with the expected layout; on a mismatch writes the first difference.
bool layout_matches(const std::vector<float>& out, MmaAOrder order, std::string* why) {
  char buf[160];
  if (out[512] != 4.0f || out[513] != 8.0f) {
    std::snprintf(buf, sizeof(buf), "components per invocation %g (16x8 f32) and %g (16x16 f16), expected 4 and 8",
                  out[512], out[513]);
    *why = buf;
    return false;
  }
  for (uint32_t lane = 0; lane < k_lanes; ++lane) {
    for (uint32_t e = 0; e < 4; ++e) {
      uint32_t r, c;
      expected_acc(lane, e, &r, &c);
      const float got = out[lane * 16 + e];
      if (got != static_cast<float>(r * 8 + c)) {
        std::snprintf(buf, sizeof(buf), "16x8 f32 lane %u component %u holds element %g, expected (%u,%u) = %u", lane, e,
                      got, r, c, r * 8 + c);
        *why = buf;
        return false;
      }
    }
    for (uint32_t e = 0; e < 8; ++e) {
      uint32_t r, c;
      expected_a(order, lane, e, &r, &c);
      const float got = out[lane * 16 + 4 + e];
      if (got != static_cast<float>(r * 16 + c)) {
        std::snprintf(buf, sizeof(buf), "16x16 f16 lane %u component %u holds element %g, expected (%u,%u) = %u", lane, e,
                      got, r, c, r * 16 + c);
        *why = buf;
        return false;
      }
    }
  }
  // B is the 16x8 identity: (A B + C)(r, c) = A(r, c) + C(r, c), exact in f32.
  for (uint32_t r = 0; r < 16; ++r)
    for (uint32_t c = 0; c < 8; ++c) {
      const float want = static_cast<float>(r * 16 + c + r * 8 + c), got = out[640 + r * 8 + c];
      if (got != want) {
        std::snprintf(buf, sizeof(buf), "multiply-add (A B + C)(%u,%u) = %g, expected %g", r, c, got, want);
        *why = buf;
        return false;
      }
    }
  return true;
}

}  // namespace

MmaAOrder match_fragment_layout(const std::vector<float>& out, std::string* why) {
  if (out.size() < k_probe_out_floats) {
    *why = "probe output has " + std::to_string(out.size()) + " floats, expected " + std::to_string(k_probe_out_floats);
    return MmaAOrder::kNone;
  }
  std::string why_inner;
  if (layout_matches(out, MmaAOrder::kRowsInner, &why_inner)) return MmaAOrder::kRowsInner;
  if (layout_matches(out, MmaAOrder::kRowsOuter, why)) return MmaAOrder::kRowsOuter;
  *why = "neither known fragment layout: " + why_inner + "; " + *why;
  return MmaAOrder::kNone;
}

}  // namespace uce_vk
