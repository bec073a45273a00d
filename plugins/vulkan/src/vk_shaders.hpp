// vk_shaders.hpp — the SPIR-V variants embedded at build time (generated vk_shaders_embedded.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace uce_vk {

struct EmbeddedShader {
  const char* name;  // variant name, e.g. "linear_f16" or "linear_cm_nv_f16_16x8x16_acc32"
  const uint32_t* words;
  size_t word_count;
};

extern const EmbeddedShader k_embedded_shaders[];
extern const size_t k_embedded_shader_count;

inline const EmbeddedShader* find_embedded_shader(std::string_view name) {
  for (size_t i = 0; i < k_embedded_shader_count; ++i)
    if (name == k_embedded_shaders[i].name) return &k_embedded_shaders[i];
  return nullptr;
}

}  // namespace uce_vk
