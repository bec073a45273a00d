// vk_coopmat_layout.cpp — checks, on the device at hand, which (row, column) each invocation's
// components of the 16x8x16 cooperative-matrix types hold.
//
// Why: cooperative matrices only promise whole-matrix operations; which elements an invocation
// holds is up to the implementation. attention_coopmat_regs.comp keeps the softmax in registers by
// assuming NVIDIA's MMA fragment layout (vk_fragment_layout.cpp, and the shader), so the plugin
// runs coopmat_layout_probe.comp once per context and uses that kernel only if every component
// of every lane is where the shader expects it and a multiply-add gives A B + C.
#include <vector>

#include "uce/half.hpp"
#include "vk_context.hpp"
#include "vk_fragment_layout.hpp"

namespace uce_vk {

MmaAOrder probe_mma_layout(Context& ctx, const std::string& probe_shader, std::string* why) {
  std::vector<float> c_in(16 * 8);
  std::vector<uint16_t> a_in(16 * 16), b_in(16 * 8);
  for (uint32_t i = 0; i < c_in.size(); ++i) c_in[i] = static_cast<float>(i);
  for (uint32_t i = 0; i < a_in.size(); ++i) a_in[i] = uce::float_to_half(static_cast<float>(i));  // exact (< 2048)
  for (uint32_t k = 0; k < 16; ++k)
    for (uint32_t n = 0; n < 8; ++n) b_in[k * 8 + n] = uce::float_to_half(k == n ? 1.0f : 0.0f);
  std::vector<float> out(k_probe_out_floats, -1.0f);

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
  return match_fragment_layout(out, why);
}

}  // namespace uce_vk
