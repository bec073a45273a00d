// vk_fragment_layout.hpp — what the cooperative-matrix layout probe (coopmat_layout_probe.comp)
// reports, and whether it is a layout the register kernels (attention_coopmat_regs.comp, the
// GEMM's ACC_REGS epilogue) can work with. Pure functions: unit-tested without a GPU.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace uce_vk {

// Which order the 8 components of a 16x16 f16 A fragment have: pairs of columns, their row halves
// varying first (as PTX's mma.m16n8k16 has them) or last (the H100's Vulkan driver). kNone: the
// probe's output matches neither (or the accumulator layout differs).
enum class MmaAOrder { kNone, kRowsInner, kRowsOuter };

// The probe's output buffer, in floats (see coopmat_layout_probe.comp for its layout).
constexpr uint32_t k_probe_out_floats = 640 + 16 * 8;

// The A order the probe's output shows, or kNone with the first difference in *why.
MmaAOrder match_fragment_layout(const std::vector<float>& probe_out, std::string* why);

}  // namespace uce_vk
