// vk_pipelines.cpp — one shared layout for every compute pipeline (6 storage buffers + 128 bytes
// of push constants), pipelines created lazily on first use and kept, and a VkPipelineCache
// persisted in options.cache_dir under a name keyed by vendor, device, driver version and the
// driver's pipelineCacheUUID (a new driver gets a new file instead of a rejected one).
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "vk_context.hpp"
#include "vk_shaders.hpp"

namespace uce_vk {
namespace {

std::string cache_path(const Context& ctx) {
  if (ctx.cache_dir.empty()) return {};
  const Caps& c = ctx.caps;
  std::string uuid;
  for (uint8_t b : c.pipeline_cache_uuid) {
    char h[3];
    std::snprintf(h, sizeof(h), "%02x", b);
    uuid += h;
  }
  char name[160];
  std::snprintf(name, sizeof(name), "uce-vulkan-%04x-%04x-%08x-%s.pcache", c.vendor_id, c.device_id,
                c.driver_version, uuid.c_str());
  return ctx.cache_dir + "/" + name;
}

// Returns the file's bytes when its header matches this device (VkPipelineCacheHeaderVersionOne).
std::vector<char> load_cache_file(const Context& ctx, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::vector<char> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (data.size() < 16 + VK_UUID_SIZE) return {};
  uint32_t header[4];
  std::memcpy(header, data.data(), sizeof(header));
  if (header[1] != VK_PIPELINE_CACHE_HEADER_VERSION_ONE || header[2] != ctx.caps.vendor_id ||
      header[3] != ctx.caps.device_id || std::memcmp(data.data() + 16, ctx.caps.pipeline_cache_uuid, VK_UUID_SIZE) != 0) {
    return {};
  }
  return data;
}

void save_cache_file(Context& ctx) {
  const std::string path = cache_path(ctx);
  if (path.empty() || !ctx.pipeline_cache || !ctx.pipeline_cache_dirty) return;
  size_t size = 0;
  if (vkGetPipelineCacheData(ctx.device, ctx.pipeline_cache, &size, nullptr) != VK_SUCCESS || size == 0) return;
  std::vector<char> data(size);
  if (vkGetPipelineCacheData(ctx.device, ctx.pipeline_cache, &size, data.data()) != VK_SUCCESS) return;
  // Write a temporary file and rename it, so a concurrent reader never sees half a cache.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) {
      ctx.log(UCE_LOG_WARN, "vulkan: cannot write pipeline cache %s", tmp.c_str());
      return;
    }
    out.write(data.data(), static_cast<std::streamsize>(size));
    if (!out) return;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    ctx.log(UCE_LOG_WARN, "vulkan: cannot rename %s to %s", tmp.c_str(), path.c_str());
    std::remove(tmp.c_str());
  }
}

}  // namespace

bool has_shader(const char* name) { return find_embedded_shader(name) != nullptr; }

uce_status pipelines_init(Context& ctx, uce_error* err) {
  VkDescriptorSetLayoutBinding bindings[k_bindings];
  for (uint32_t i = 0; i < k_bindings; ++i) {
    bindings[i] = VkDescriptorSetLayoutBinding{};
    bindings[i].binding = i;
    bindings[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    bindings[i].descriptorCount = 1;
    bindings[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
  }
  VkDescriptorSetLayoutCreateInfo dci{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  dci.bindingCount = k_bindings;
  dci.pBindings = bindings;
  VkResult r = vkCreateDescriptorSetLayout(ctx.device, &dci, nullptr, &ctx.set_layout);
  if (r != VK_SUCCESS) return fail(err, UCE_ERR_DEVICE, "vulkan: vkCreateDescriptorSetLayout failed: %s", vk_result_name(r));
  VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, k_push_bytes};
  VkPipelineLayoutCreateInfo lci{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  lci.setLayoutCount = 1;
  lci.pSetLayouts = &ctx.set_layout;
  lci.pushConstantRangeCount = 1;
  lci.pPushConstantRanges = &range;
  r = vkCreatePipelineLayout(ctx.device, &lci, nullptr, &ctx.pipeline_layout);
  if (r != VK_SUCCESS) return fail(err, UCE_ERR_DEVICE, "vulkan: vkCreatePipelineLayout failed: %s", vk_result_name(r));

  std::vector<char> initial;
  const std::string path = cache_path(ctx);
  if (!path.empty()) initial = load_cache_file(ctx, path);
  VkPipelineCacheCreateInfo pci{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
  pci.initialDataSize = initial.size();
  pci.pInitialData = initial.empty() ? nullptr : initial.data();
  r = vkCreatePipelineCache(ctx.device, &pci, nullptr, &ctx.pipeline_cache);
  if (r != VK_SUCCESS && !initial.empty()) {  // a cache the driver rejects is only a lost speed-up
    pci.initialDataSize = 0;
    pci.pInitialData = nullptr;
    r = vkCreatePipelineCache(ctx.device, &pci, nullptr, &ctx.pipeline_cache);
  }
  if (r != VK_SUCCESS) return fail(err, UCE_ERR_DEVICE, "vulkan: vkCreatePipelineCache failed: %s", vk_result_name(r));
  if (!initial.empty()) ctx.log(UCE_LOG_DEBUG, "vulkan: loaded pipeline cache %s (%zu bytes)", path.c_str(), initial.size());
  return UCE_OK;
}

void pipelines_shutdown(Context& ctx) {
  save_cache_file(ctx);
  for (auto& kv : ctx.pipelines) vkDestroyPipeline(ctx.device, kv.second, nullptr);
  ctx.pipelines.clear();
  if (ctx.pipeline_cache) vkDestroyPipelineCache(ctx.device, ctx.pipeline_cache, nullptr);
  for (auto pool : ctx.pools) vkDestroyDescriptorPool(ctx.device, pool, nullptr);
  ctx.pools.clear();
  if (ctx.pipeline_layout) vkDestroyPipelineLayout(ctx.device, ctx.pipeline_layout, nullptr);
  if (ctx.set_layout) vkDestroyDescriptorSetLayout(ctx.device, ctx.set_layout, nullptr);
}

uce_status get_pipeline(Context& ctx, const std::string& name, VkPipeline* out, uce_error* err) {
  auto it = ctx.pipelines.find(name);
  if (it != ctx.pipelines.end()) {
    *out = it->second;
    return UCE_OK;
  }
  const EmbeddedShader* sh = find_embedded_shader(name);
  if (!sh) return fail(err, UCE_ERR_UNSUPPORTED, "vulkan: shader variant '%s' was not built into this plugin", name.c_str());
  VkShaderModuleCreateInfo mci{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  mci.codeSize = sh->word_count * sizeof(uint32_t);
  mci.pCode = sh->words;
  VkShaderModule module;
  VkResult r = vkCreateShaderModule(ctx.device, &mci, nullptr, &module);
  if (r != VK_SUCCESS) return fail(err, UCE_ERR_DEVICE, "vulkan: vkCreateShaderModule(%s) failed: %s", name.c_str(), vk_result_name(r));
  VkComputePipelineCreateInfo cci{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  cci.stage = VkPipelineShaderStageCreateInfo{VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
  cci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  cci.stage.module = module;
  cci.stage.pName = "main";
  cci.layout = ctx.pipeline_layout;
  if (ctx.pipeline_stats) cci.flags |= VK_PIPELINE_CREATE_CAPTURE_STATISTICS_BIT_KHR;
  VkPipeline pipeline;
  r = vkCreateComputePipelines(ctx.device, ctx.pipeline_cache, 1, &cci, nullptr, &pipeline);
  vkDestroyShaderModule(ctx.device, module, nullptr);
  if (r != VK_SUCCESS) return fail(err, UCE_ERR_DEVICE, "vulkan: vkCreateComputePipelines(%s) failed: %s", name.c_str(), vk_result_name(r));
  ctx.pipelines.emplace(name, pipeline);
  ctx.pipeline_cache_dirty = true;
  ctx.log(UCE_LOG_DEBUG, "vulkan: created pipeline %s", name.c_str());
  if (ctx.pipeline_stats) profile_pipeline_stats(ctx, pipeline, name);
  *out = pipeline;
  return check_validation(ctx, err);
}

}  // namespace uce_vk
