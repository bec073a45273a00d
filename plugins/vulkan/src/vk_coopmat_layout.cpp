// vk_coopmat_layout.cpp — checks, on the device at hand, which (row, column) each invocation's
// components of the 16x8x16 cooperative-matrix types hold.
//
// Why: cooperative matrices only promise whole-matrix operations; which elements an invocation
// holds is up to the implementation. attention_coopmat_regs.comp keeps the softmax in registers by
// assuming NVIDIA's MMA fragment layout (written out below and in the shader), so the plugin
// runs coopmat_layout_probe.comp once per context and uses that kernel only if every component
// of every lane is where the shader expects it and a multiply-add gives A B + C.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "uce/half.hpp"
#include "vk_context.hpp"

namespace uce_vk {
namespace {

constexpr uint32_t k_lanes = 32;
constexpr uint32_t k_out_floats = 640 + 16 * 8;

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

MmaAOrder probe_mma_layout(Context& ctx, const std::string& probe_shader, std::string* why) {
  std::vector<float> c_in(16 * 8);
  std::vector<uint16_t> a_in(16 * 16), b_in(16 * 8);
  for (uint32_t i = 0; i < c_in.size(); ++i) c_in[i] = static_cast<float>(i);
  for (uint32_t i = 0; i < a_in.size(); ++i) a_in[i] = uce::float_to_half(static_cast<float>(i));  // exact (< 2048)
  for (uint32_t k = 0; k < 16; ++k)
    for (uint32_t n = 0; n < 8; ++n) b_in[k * 8 + n] = uce::float_to_half(k == n ? 1.0f : 0.0f);
  std::vector<float> out(k_out_floats, -1.0f);

  uce_error err{};
  Buffer bc, ba, bb, bo;
  VkPipeline pipeline = VK_NULL_HANDLE;
  uce_status st = get_pipeline(ctx, probe_shader, &pipeline, &err);
  if (st == UCE_OK) st = buffer_create(ctx, c_in.size() * 4, bc, &err);
  if (st == UCE_OK) st = buffer_create(ctx, a_in.size() * 2, ba, &err);
  if (st == UCE_OK) st = buffer_create(ctx, b_in.size() * 2, bb, &err);
  if (st == UCE_OK) st = buffer_create(ctx, out.size() * 4, bo, &err);
  if (st == UCE_OK) st = buffer_write(ctx, bc, 0, c_in.data(), c_in.size() * 4, &err);
  if (st == UCE_OK) st = buffer_write(ctx, ba, 0, a_in.data(), a_in.size() * 2, &err);
  if (st == UCE_OK) st = buffer_write(ctx, bb, 0, b_in.data(), b_in.size() * 2, &err);
  if (st == UCE_OK) st = buffer_write(ctx, bo, 0, out.data(), out.size() * 4, &err);
  if (st == UCE_OK) {
    VkDescriptorBufferInfo infos[k_bindings];
    for (auto& i : infos) i = {ctx.dummy.buffer, 0, VK_WHOLE_SIZE};
    infos[0] = {bc.buffer, 0, VK_WHOLE_SIZE};
    infos[1] = {ba.buffer, 0, VK_WHOLE_SIZE};
    infos[2] = {bb.buffer, 0, VK_WHOLE_SIZE};
    infos[5] = {bo.buffer, 0, VK_WHOLE_SIZE};
    st = record_dispatch(ctx, pipeline, infos, nullptr, 0, 1, 1, 1, "coopmat_layout_probe", &err);
  }
  if (st == UCE_OK) st = flush(ctx, &err);
  if (st == UCE_OK) st = buffer_read(ctx, bo, 0, out.data(), out.size() * 4, &err);
  for (Buffer* b : {&bc, &ba, &bb, &bo})
    if (b->buffer != VK_NULL_HANDLE) buffer_destroy(ctx, *b);
  if (st != UCE_OK) {
    *why = std::string("layout probe failed: ") + err.message;
    return MmaAOrder::kNone;
  }
  std::string why_inner;
  if (layout_matches(out, MmaAOrder::kRowsInner, &why_inner)) return MmaAOrder::kRowsInner;
  if (layout_matches(out, MmaAOrder::kRowsOuter, why)) return MmaAOrder::kRowsOuter;
  *why = "neither known fragment layout: " + why_inner + "; " + *why;
  return MmaAOrder::kNone;
}

}  // namespace uce_vk
