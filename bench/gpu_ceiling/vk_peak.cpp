// vk_peak.cpp — uce_vk_peak: the compute ceilings of a Vulkan device, measured with kernels that do
// nothing else: fp32 FMAs (shaders/fma_peak.comp) and cooperative-matrix multiply-adds
// (shaders/mma_peak.comp: fixed fragments, or fragments loaded from shared memory each k step as
// the plugin's GEMM does), for every shape/accumulator/API variant the device supports, at several
// workgroup sizes. It answers "how fast can any GEMM written against this API be on this device",
// which the plugin's kernels are then compared with (bench/gpu_ceiling/README.md).
// Every run checks the kernel's sums (each chain's exact value), so dropped work shows as an error.
//   uce_vk_peak [--device N] [--only SUBSTRING] [--target-ms MS] [--quick]
// --quick: tiny dispatches, results checked, no timing claims (the ctest on lavapipe).
#include <vulkan/vulkan.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "uce/half.hpp"
#include "vk_device_query.hpp"
#include "vk_shaders.hpp"

namespace {

struct Options {
  uint32_t device = 0;
  std::string only;
  double target_ms = 20.0;
  bool quick = false;
};

// One kernel variant, as named by bench/gpu_ceiling/vk_peak.cmake.
struct Variant {
  std::string name;  // embedded shader name
  std::string api;   // "" (no cooperative matrices), "nv" or "khr"
  int cm_n = 0, acc_bits = 32, tnb = 0;
  bool smem = false;
};

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "uce_vk_peak: %s\n", what.c_str());
  std::exit(1);
}

void check(VkResult r, const char* what) {
  if (r != VK_SUCCESS) die(std::string(what) + " failed (VkResult " + std::to_string(r) + ")");
}

std::vector<Variant> all_variants() {
  std::vector<Variant> v;
  for (size_t i = 0; i < uce_vk::k_embedded_shader_count; ++i) {
    Variant x;
    x.name = uce_vk::k_embedded_shaders[i].name;
    if (x.name == "fma_peak") {
      v.push_back(x);
      continue;
    }
    // mma_<api>_n<N>_acc<B>_t<T>_<pure|smem>
    char api[8] = {0}, mode[8] = {0};
    if (std::sscanf(x.name.c_str(), "mma_%7[a-z]_n%d_acc%d_t%d_%7s", api, &x.cm_n, &x.acc_bits, &x.tnb, mode) != 5)
      die("unexpected embedded shader name " + x.name);
    x.api = api;
    x.smem = std::strcmp(mode, "smem") == 0;
    v.push_back(x);
  }
  return v;
}

// Whether the device reports the variant's shape (16 x cm_n x 16, fp16 A/B, f32 or f16
// accumulators, subgroup scope) through its extension's property query (KHR and NV have the same
// query with different structures and the same enum values).
template <typename Props>
bool reports_shape(VkInstance inst, VkPhysicalDevice phys, const char* query, VkStructureType stype, const Variant& v) {
  const int f16 = VK_COMPONENT_TYPE_FLOAT16_NV, acc = v.acc_bits == 32 ? VK_COMPONENT_TYPE_FLOAT32_NV : f16;
  for (const Props& p : uce_vk::coopmat_properties<Props>(inst, phys, query, stype))
    if (p.MSize == 16 && p.NSize == static_cast<uint32_t>(v.cm_n) && p.KSize == 16 && static_cast<int>(p.AType) == f16 &&
        static_cast<int>(p.BType) == f16 && static_cast<int>(p.CType) == acc &&
        static_cast<int>(p.scope) == VK_SCOPE_SUBGROUP_NV)
      return true;
  return false;
}

bool reports_shape(VkInstance inst, VkPhysicalDevice phys, const Variant& v) {
  if (v.api == "nv")
    return reports_shape<VkCooperativeMatrixPropertiesNV>(inst, phys, "vkGetPhysicalDeviceCooperativeMatrixPropertiesNV",
                                                          VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV, v);
  return reports_shape<VkCooperativeMatrixPropertiesKHR>(inst, phys, "vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR",
                                                         VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_KHR, v);
}

// The device and everything one API's variants share.
struct Device {
  VkPhysicalDevice phys = VK_NULL_HANDLE;
  VkDevice dev = VK_NULL_HANDLE;
  VkQueue queue = VK_NULL_HANDLE;
  uint32_t family = 0;
  double ns_per_tick = 1.0;
  bool stats = false;
  VkBuffer in = VK_NULL_HANDLE, out = VK_NULL_HANDLE;
  VkDeviceMemory in_mem = VK_NULL_HANDLE, out_mem = VK_NULL_HANDLE;
  void *in_map = nullptr, *out_map = nullptr;
  VkCommandPool pool = VK_NULL_HANDLE;
  VkQueryPool queries = VK_NULL_HANDLE;
};

constexpr VkDeviceSize k_in_bytes = 4096, k_out_bytes = 16ull << 20;

void make_buffer(Device& d, VkDeviceSize bytes, VkBuffer& buf, VkDeviceMemory& mem, void*& map) {
  VkBufferCreateInfo bci{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bci.size = bytes;
  bci.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
  check(vkCreateBuffer(d.dev, &bci, nullptr, &buf), "vkCreateBuffer");
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(d.dev, buf, &req);
  VkPhysicalDeviceMemoryProperties mp;
  vkGetPhysicalDeviceMemoryProperties(d.phys, &mp);
  // Host-visible device memory where there is some (resizable BAR, unified memory), so the kernels
  // read their inputs from device memory; plain host-visible memory otherwise.
  const VkMemoryPropertyFlags hv = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  int type = -1;
  for (VkMemoryPropertyFlags want : {hv | VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, hv}) {
    for (uint32_t i = 0; i < mp.memoryTypeCount && type < 0; ++i)
      if ((req.memoryTypeBits & (1u << i)) && (mp.memoryTypes[i].propertyFlags & want) == want) type = static_cast<int>(i);
    if (type >= 0) break;
  }
  if (type < 0) die("no host-visible memory type for a buffer");
  VkMemoryAllocateInfo mai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  mai.allocationSize = req.size;
  mai.memoryTypeIndex = static_cast<uint32_t>(type);
  check(vkAllocateMemory(d.dev, &mai, nullptr, &mem), "vkAllocateMemory");
  check(vkBindBufferMemory(d.dev, buf, mem, 0), "vkBindBufferMemory");
  check(vkMapMemory(d.dev, mem, 0, VK_WHOLE_SIZE, 0, &map), "vkMapMemory");
}

Device open_device(VkPhysicalDevice phys, const std::string& api) {
  Device d;
  d.phys = phys;
  uint32_t nf = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(phys, &nf, nullptr);
  std::vector<VkQueueFamilyProperties> fams(nf);
  vkGetPhysicalDeviceQueueFamilyProperties(phys, &nf, fams.data());
  d.family = nf;
  for (uint32_t i = 0; i < nf && d.family == nf; ++i)
    if ((fams[i].queueFlags & VK_QUEUE_COMPUTE_BIT) && fams[i].timestampValidBits > 0) d.family = i;
  if (d.family == nf) die("no compute queue with timestamps");
  VkPhysicalDeviceProperties props;
  vkGetPhysicalDeviceProperties(phys, &props);
  d.ns_per_tick = props.limits.timestampPeriod;

  float prio = 1.0f;
  VkDeviceQueueCreateInfo qci{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  qci.queueFamilyIndex = d.family;
  qci.queueCount = 1;
  qci.pQueuePriorities = &prio;
  VkPhysicalDeviceVulkan11Features f11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
  VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  VkPhysicalDeviceFeatures2 f2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  f2.pNext = &f11;
  f11.pNext = &f12;
  vkGetPhysicalDeviceFeatures2(phys, &f2);  // enable what the device has of these
  VkPhysicalDeviceFeatures2 want{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  VkPhysicalDeviceVulkan11Features w11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
  VkPhysicalDeviceVulkan12Features w12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  want.pNext = &w11;
  w11.pNext = &w12;
  w11.storageBuffer16BitAccess = f11.storageBuffer16BitAccess;
  want.features.shaderInt16 = f2.features.shaderInt16;
  w12.shaderFloat16 = f12.shaderFloat16;
  w12.vulkanMemoryModel = f12.vulkanMemoryModel;
  VkPhysicalDeviceCooperativeMatrixFeaturesNV cm{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
  VkPhysicalDeviceCooperativeMatrixFeaturesKHR cmk{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_KHR};
  VkPhysicalDevicePipelineExecutablePropertiesFeaturesKHR pe{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PIPELINE_EXECUTABLE_PROPERTIES_FEATURES_KHR};
  std::vector<const char*> exts;
  void** tail = &w12.pNext;
  if (api == "nv") {
    cm.cooperativeMatrix = VK_TRUE;
    *tail = &cm;
    tail = &cm.pNext;
    exts.push_back(VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME);
  } else if (api == "khr") {
    cmk.cooperativeMatrix = VK_TRUE;
    *tail = &cmk;
    tail = &cmk.pNext;
    exts.push_back(VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME);
  }
  if (uce_vk::has_device_extension(phys, VK_KHR_PIPELINE_EXECUTABLE_PROPERTIES_EXTENSION_NAME)) {
    pe.pipelineExecutableInfo = VK_TRUE;
    *tail = &pe;
    exts.push_back(VK_KHR_PIPELINE_EXECUTABLE_PROPERTIES_EXTENSION_NAME);
    d.stats = true;
  }
  VkDeviceCreateInfo dci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  dci.pNext = &want;
  dci.queueCreateInfoCount = 1;
  dci.pQueueCreateInfos = &qci;
  dci.enabledExtensionCount = static_cast<uint32_t>(exts.size());
  dci.ppEnabledExtensionNames = exts.data();
  check(vkCreateDevice(phys, &dci, nullptr, &d.dev), "vkCreateDevice");
  vkGetDeviceQueue(d.dev, d.family, 0, &d.queue);

  make_buffer(d, k_in_bytes, d.in, d.in_mem, d.in_map);
  make_buffer(d, k_out_bytes, d.out, d.out_mem, d.out_map);
  const uint16_t one_half = 0x3c00;  // fp16 1.0
  for (size_t i = 0; i < k_in_bytes / 2; ++i) std::memcpy(static_cast<char*>(d.in_map) + 2 * i, &one_half, 2);

  VkCommandPoolCreateInfo pci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pci.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pci.queueFamilyIndex = d.family;
  check(vkCreateCommandPool(d.dev, &pci, nullptr, &d.pool), "vkCreateCommandPool");
  VkQueryPoolCreateInfo qpi{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
  qpi.queryType = VK_QUERY_TYPE_TIMESTAMP;
  qpi.queryCount = 2;
  check(vkCreateQueryPool(d.dev, &qpi, nullptr, &d.queries), "vkCreateQueryPool");
  return d;
}

void close_device(Device& d) {
  vkDestroyQueryPool(d.dev, d.queries, nullptr);
  vkDestroyCommandPool(d.dev, d.pool, nullptr);
  for (auto [buf, mem] : {std::pair{d.in, d.in_mem}, std::pair{d.out, d.out_mem}}) {
    vkUnmapMemory(d.dev, mem);
    vkDestroyBuffer(d.dev, buf, nullptr);
    vkFreeMemory(d.dev, mem, nullptr);
  }
  vkDestroyDevice(d.dev, nullptr);
}

// One compute pipeline of a variant at one workgroup size (specialization constant 0).
struct Pipeline {
  VkDescriptorSetLayout dsl = VK_NULL_HANDLE;
  VkPipelineLayout layout = VK_NULL_HANDLE;
  VkPipeline pipe = VK_NULL_HANDLE;
  VkDescriptorPool dpool = VK_NULL_HANDLE;
  VkDescriptorSet set = VK_NULL_HANDLE;
};

Pipeline make_pipeline(Device& d, const Variant& v, uint32_t wg) {
  const uce_vk::EmbeddedShader* s = uce_vk::find_embedded_shader(v.name);
  Pipeline p;
  VkDescriptorSetLayoutBinding b[2] = {};
  for (uint32_t i = 0; i < 2; ++i) {
    b[i].binding = i;
    b[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    b[i].descriptorCount = 1;
    b[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
  }
  VkDescriptorSetLayoutCreateInfo dli{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  dli.bindingCount = 2;
  dli.pBindings = b;
  check(vkCreateDescriptorSetLayout(d.dev, &dli, nullptr, &p.dsl), "vkCreateDescriptorSetLayout");
  VkPushConstantRange pc{VK_SHADER_STAGE_COMPUTE_BIT, 0, 16};
  VkPipelineLayoutCreateInfo pli{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  pli.setLayoutCount = 1;
  pli.pSetLayouts = &p.dsl;
  pli.pushConstantRangeCount = 1;
  pli.pPushConstantRanges = &pc;
  check(vkCreatePipelineLayout(d.dev, &pli, nullptr, &p.layout), "vkCreatePipelineLayout");
  VkShaderModuleCreateInfo smi{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  smi.codeSize = s->word_count * 4;
  smi.pCode = s->words;
  VkShaderModule mod;
  check(vkCreateShaderModule(d.dev, &smi, nullptr, &mod), "vkCreateShaderModule");
  VkSpecializationMapEntry me{0, 0, 4};
  VkSpecializationInfo si{1, &me, 4, &wg};
  VkComputePipelineCreateInfo cpi{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  if (d.stats) cpi.flags = VK_PIPELINE_CREATE_CAPTURE_STATISTICS_BIT_KHR;
  cpi.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
  cpi.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  cpi.stage.module = mod;
  cpi.stage.pName = "main";
  cpi.stage.pSpecializationInfo = &si;
  cpi.layout = p.layout;
  check(vkCreateComputePipelines(d.dev, VK_NULL_HANDLE, 1, &cpi, nullptr, &p.pipe), "vkCreateComputePipelines");
  vkDestroyShaderModule(d.dev, mod, nullptr);
  VkDescriptorPoolSize ps{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 2};
  VkDescriptorPoolCreateInfo dpi{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  dpi.maxSets = 1;
  dpi.poolSizeCount = 1;
  dpi.pPoolSizes = &ps;
  check(vkCreateDescriptorPool(d.dev, &dpi, nullptr, &p.dpool), "vkCreateDescriptorPool");
  VkDescriptorSetAllocateInfo dai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
  dai.descriptorPool = p.dpool;
  dai.descriptorSetCount = 1;
  dai.pSetLayouts = &p.dsl;
  check(vkAllocateDescriptorSets(d.dev, &dai, &p.set), "vkAllocateDescriptorSets");
  VkDescriptorBufferInfo bi[2] = {{d.in, 0, VK_WHOLE_SIZE}, {d.out, 0, VK_WHOLE_SIZE}};
  VkWriteDescriptorSet w[2] = {};
  for (uint32_t i = 0; i < 2; ++i) {
    w[i].sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET;
    w[i].dstSet = p.set;
    w[i].dstBinding = i;
    w[i].descriptorCount = 1;
    w[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    w[i].pBufferInfo = &bi[i];
  }
  vkUpdateDescriptorSets(d.dev, 2, w, 0, nullptr);
  return p;
}

void destroy_pipeline(Device& d, Pipeline& p) {
  vkDestroyDescriptorPool(d.dev, p.dpool, nullptr);
  vkDestroyPipeline(d.dev, p.pipe, nullptr);
  vkDestroyPipelineLayout(d.dev, p.layout, nullptr);
  vkDestroyDescriptorSetLayout(d.dev, p.dsl, nullptr);
}

// Runs one dispatch; returns its GPU time in ms (timestamps around it).
double dispatch(Device& d, Pipeline& p, uint32_t groups, uint32_t iters) {
  VkCommandBufferAllocateInfo cai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  cai.commandPool = d.pool;
  cai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  cai.commandBufferCount = 1;
  VkCommandBuffer cb;
  check(vkAllocateCommandBuffers(d.dev, &cai, &cb), "vkAllocateCommandBuffers");
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  vkBeginCommandBuffer(cb, &bi);
  vkCmdResetQueryPool(cb, d.queries, 0, 2);
  vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, p.pipe);
  vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, p.layout, 0, 1, &p.set, 0, nullptr);
  struct {  // the shaders' push constants: fma_peak uses a and b, mma_peak the period
    uint32_t iters;
    float a, b;
    uint32_t period;
  } push{iters, 1.0f, 1.0f, 2u};
  vkCmdPushConstants(cb, p.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(push), &push);
  vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, d.queries, 0);
  vkCmdDispatch(cb, groups, 1, 1);
  vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, d.queries, 1);
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
  mb.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
  vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, nullptr, 0,
                       nullptr);
  vkEndCommandBuffer(cb);
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cb;
  check(vkQueueSubmit(d.queue, 1, &si, VK_NULL_HANDLE), "vkQueueSubmit");
  check(vkQueueWaitIdle(d.queue), "vkQueueWaitIdle");
  uint64_t ts[2] = {0, 0};
  check(vkGetQueryPoolResults(d.dev, d.queries, 0, 2, sizeof(ts), ts, 8, VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
        "vkGetQueryPoolResults");
  vkFreeCommandBuffers(d.dev, d.pool, 1, &cb);
  return static_cast<double>(ts[1] - ts[0]) * d.ns_per_tick * 1e-6;
}

// Whether every chain's final value is exact in the accumulator type after `iters` steps.
bool sums_exact(const Variant& v, uint32_t iters) {
  if (v.api.empty()) return iters + 8.0 <= 16777216.0;
  return 4.0 * v.tnb - 1.0 + 16.0 * iters <= (v.acc_bits == 32 ? 16777216.0 : 2048.0);
}

// Checks what the first `slots` store slots hold against each chain's exact value (the caller
// makes sure it is exact: sums_exact). Returns "" or the first mismatch.
std::string check_sums(const Device& d, const Variant& v, uint32_t slots, uint32_t iters) {
  if (v.api.empty()) {  // fma_peak: 8 vec4 chains per invocation, chain j ends at j + iters
    const float* o = static_cast<const float*>(d.out_map);
    for (uint32_t s = 0; s < slots; ++s)
      for (uint32_t j = 0; j < 8; ++j)
        for (uint32_t c = 0; c < 4; ++c)
          if (o[(s * 8 + j) * 4 + c] != static_cast<float>(j + iters))
            return "slot " + std::to_string(s) + " chain " + std::to_string(j) + ": " +
                   std::to_string(o[(s * 8 + j) * 4 + c]) + ", expected " + std::to_string(j + iters);
    return "";
  }
  const uint32_t chains = 4u * static_cast<uint32_t>(v.tnb), elems = 16u * static_cast<uint32_t>(v.cm_n);
  for (uint32_t s = 0; s < slots; ++s)
    for (uint32_t j = 0; j < chains; ++j)
      for (uint32_t e = 0; e < elems; ++e) {
        const size_t i = (static_cast<size_t>(s) * chains + j) * elems + e;
        const float got = v.acc_bits == 32 ? static_cast<const float*>(d.out_map)[i]
                                           : uce::half_to_float(static_cast<const uint16_t*>(d.out_map)[i]);
        const float want = static_cast<float>(j + 16.0 * iters);
        if (got != want)
          return "slot " + std::to_string(s) + " chain " + std::to_string(j) + " element " + std::to_string(e) + ": " +
                 std::to_string(got) + ", expected " + std::to_string(want);
      }
  return "";
}

// Times one variant at one workgroup size: calibrates the iteration count to ~target_ms, then
// the median of 5 dispatches. Prints one line; returns false if the sums were wrong.
bool run_variant(Device& d, const Variant& v, uint32_t wg, const Options& o) {
  Pipeline p = make_pipeline(d, v, wg);
  const uint32_t subgroups = wg / 32u;  // mma kernels: subgroups of 32 (checked by the caller)
  // Enough workgroups to fill any current GPU many times over; few on --quick.
  const uint32_t groups = o.quick ? 4u : (v.api.empty() ? 16384u : 32768u / std::max(1u, subgroups));
  uint32_t iters = o.quick ? 64u : 256u;
  double ms = dispatch(d, p, groups, iters);  // warm-up and calibration
  if (!o.quick) {
    iters = static_cast<uint32_t>(std::clamp(iters * o.target_ms / std::max(ms, 1e-3), 64.0, 1e6));
    std::vector<double> t;
    for (int r = 0; r < 5; ++r) t.push_back(dispatch(d, p, groups, iters));
    std::sort(t.begin(), t.end());
    ms = t[2];
  }
  double flop_per_iter;  // per workgroup
  if (v.api.empty()) flop_per_iter = wg * 8.0 * 4.0 * 2.0;
  else flop_per_iter = subgroups * 4.0 * v.tnb * 2.0 * 16.0 * v.cm_n * 16.0;
  const double tflops = flop_per_iter * groups * iters / (ms * 1e-3) * 1e-12;
  const uint32_t slots = v.api.empty() ? std::min(4096u, groups * wg) : std::min(256u, groups * subgroups);
  // Sums too large to be exact (f16 accumulators) are checked on one more, short dispatch.
  const uint32_t checked_iters = sums_exact(v, iters) ? iters : 64u;
  if (checked_iters != iters) dispatch(d, p, groups, checked_iters);
  const std::string bad = check_sums(d, v, slots, checked_iters);
  const std::string stats = d.stats ? uce_vk::pipeline_statistics(d.dev, p.pipe) : "";
  char rate[32] = "     - (quick)";
  if (!o.quick) std::snprintf(rate, sizeof(rate), "%8.2f TFLOP/s", tflops);
  std::printf("%-28s wg %3u  groups %6u  iters %7u  %9.3f ms  %s%s%s%s%s%s\n", v.name.c_str(), wg, groups, iters, ms,
              rate, bad.empty() ? "" : "  WRONG: ", bad.c_str(), stats.empty() ? "" : "  [", stats.c_str(),
              stats.empty() ? "" : "]");
  std::fflush(stdout);
  destroy_pipeline(d, p);
  return bad.empty();
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--device") o.device = static_cast<uint32_t>(std::stoul(value()));
    else if (a == "--only") o.only = value();
    else if (a == "--target-ms") o.target_ms = std::stod(value());
    else if (a == "--quick") o.quick = true;
    else die("unknown argument " + a + " (usage: uce_vk_peak [--device N] [--only SUBSTRING] [--target-ms MS] [--quick])");
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "uce_vk_peak";
  app.apiVersion = VK_API_VERSION_1_2;
  VkInstanceCreateInfo ici{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ici.pApplicationInfo = &app;
  VkInstance inst;
  check(vkCreateInstance(&ici, nullptr, &inst), "vkCreateInstance");
  uint32_t n = 0;
  vkEnumeratePhysicalDevices(inst, &n, nullptr);
  std::vector<VkPhysicalDevice> devs(n);
  vkEnumeratePhysicalDevices(inst, &n, devs.data());
  if (o.device >= n) die("--device " + std::to_string(o.device) + ": the instance has " + std::to_string(n) + " devices");
  VkPhysicalDevice phys = devs[o.device];
  VkPhysicalDeviceSubgroupProperties sub{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  VkPhysicalDeviceProperties2 props{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  props.pNext = &sub;
  vkGetPhysicalDeviceProperties2(phys, &props);
  std::printf("device %u: %s, api %u.%u.%u, driver version %u, subgroup %u\n", o.device, props.properties.deviceName,
              VK_API_VERSION_MAJOR(props.properties.apiVersion), VK_API_VERSION_MINOR(props.properties.apiVersion),
              VK_API_VERSION_PATCH(props.properties.apiVersion), props.properties.driverVersion, sub.subgroupSize);
  int failures = 0;
  for (const char* api : {"", "nv", "khr"}) {
    std::vector<Variant> vs;
    for (const Variant& v : all_variants())
      if (v.api == api && v.name.find(o.only) != std::string::npos) vs.push_back(v);
    if (vs.empty()) continue;
    const std::string a = api;
    if (!a.empty()) {
      const char* ext = a == "nv" ? VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME : VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME;
      if (!uce_vk::has_device_extension(phys, ext)) {
        std::printf("%zu %s variants skipped: the device has no %s\n", vs.size(), api, ext);
        continue;
      }
      if (sub.subgroupSize != 32) {
        std::printf("%zu %s variants skipped: they assume subgroups of 32, the device has %u\n", vs.size(), api,
                    sub.subgroupSize);
        continue;
      }
    }
    Device d = open_device(phys, a);
    for (const Variant& v : vs) {
      if (!a.empty() && !reports_shape(inst, phys, v)) {
        std::printf("%-28s skipped: the device does not report the 16x%dx16 shape with f%d accumulators\n",
                    v.name.c_str(), v.cm_n, v.acc_bits);
        continue;
      }
      for (uint32_t wg : {64u, 128u, 256u})
        if (!run_variant(d, v, wg, o)) ++failures;
    }
    close_device(d);
  }
  // The instance is left to process exit (see vk_context.cpp: the NVIDIA driver and instance churn).
  if (failures) std::printf("%d runs computed wrong sums\n", failures);
  return failures ? 1 : 0;
}
