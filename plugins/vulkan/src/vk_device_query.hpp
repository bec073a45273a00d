// vk_device_query.hpp — small queries of a physical device or a pipeline, shared by the plugin and
// bench/gpu_ceiling's uce_vk_peak (header-only: the probe does not link the plugin).
#pragma once

#include <vulkan/vulkan.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "vk_khr_coopmat.hpp"

namespace uce_vk {

inline bool has_device_extension(VkPhysicalDevice pd, const char* name) {
  uint32_t n = 0;
  vkEnumerateDeviceExtensionProperties(pd, nullptr, &n, nullptr);
  std::vector<VkExtensionProperties> exts(n);
  vkEnumerateDeviceExtensionProperties(pd, nullptr, &n, exts.data());
  for (const auto& e : exts)
    if (std::strcmp(e.extensionName, name) == 0) return true;
  return false;
}

// Everything one cooperative-matrix extension's property query reports (KHR and NV have the same
// query with different structures: Props, its sType, the instance function's name); empty when
// the query is missing or fails.
template <typename Props>
std::vector<Props> coopmat_properties(VkInstance instance, VkPhysicalDevice pd, const char* query,
                                      VkStructureType stype) {
  using Get = VkResult(VKAPI_PTR*)(VkPhysicalDevice, uint32_t*, Props*);
  auto get = reinterpret_cast<Get>(vkGetInstanceProcAddr(instance, query));
  uint32_t n = 0;
  if (!get || get(pd, &n, nullptr) != VK_SUCCESS || n == 0) return {};
  Props blank{};
  blank.sType = stype;
  std::vector<Props> props(n, blank);
  if (get(pd, &n, props.data()) < 0) return {};
  props.resize(n);
  return props;
}

// The driver's statistics of a pipeline's executables (registers, shared memory, spills, ...) as
// "name=value; ..." through VK_KHR_pipeline_executable_properties, which must be enabled on the
// device and the pipeline created with VK_PIPELINE_CREATE_CAPTURE_STATISTICS_BIT_KHR; "" if none.
inline std::string pipeline_statistics(VkDevice device, VkPipeline pipeline) {
  auto get_props = reinterpret_cast<PFN_vkGetPipelineExecutablePropertiesKHR>(
      vkGetDeviceProcAddr(device, "vkGetPipelineExecutablePropertiesKHR"));
  auto get_stats = reinterpret_cast<PFN_vkGetPipelineExecutableStatisticsKHR>(
      vkGetDeviceProcAddr(device, "vkGetPipelineExecutableStatisticsKHR"));
  if (!get_props || !get_stats) return "";
  VkPipelineInfoKHR pi{VK_STRUCTURE_TYPE_PIPELINE_INFO_KHR};
  pi.pipeline = pipeline;
  uint32_t n_exec = 0;
  if (get_props(device, &pi, &n_exec, nullptr) != VK_SUCCESS) return "";
  std::string line;
  for (uint32_t e = 0; e < n_exec; ++e) {
    VkPipelineExecutableInfoKHR ei{VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_INFO_KHR};
    ei.pipeline = pipeline;
    ei.executableIndex = e;
    uint32_t n = 0;
    if (get_stats(device, &ei, &n, nullptr) != VK_SUCCESS) continue;
    std::vector<VkPipelineExecutableStatisticKHR> stats(n, {VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_STATISTIC_KHR});
    if (get_stats(device, &ei, &n, stats.data()) != VK_SUCCESS) continue;
    for (const auto& st : stats) {
      char one[160];
      switch (st.format) {
        case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_BOOL32_KHR:
          std::snprintf(one, sizeof(one), "%s=%s", st.name, st.value.b32 ? "true" : "false");
          break;
        case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_INT64_KHR:
          std::snprintf(one, sizeof(one), "%s=%lld", st.name, static_cast<long long>(st.value.i64));
          break;
        case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_UINT64_KHR:
          std::snprintf(one, sizeof(one), "%s=%llu", st.name, static_cast<unsigned long long>(st.value.u64));
          break;
        default:
          std::snprintf(one, sizeof(one), "%s=%g", st.name, st.value.f64);
      }
      line += line.empty() ? one : std::string("; ") + one;
    }
  }
  return line;
}

}  // namespace uce_vk
