// vk_context.cpp — instance/device creation, capability query, device selection, validation
// messenger, batched command recording and submission.
#include "vk_context.hpp"
#include "vk_device_query.hpp"
#include "vk_khr_coopmat.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace uce_vk {

uce_status fail(uce_error* err, uce_status st, const char* fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
  }
  return st;
}

const char* vk_result_name(VkResult r) {
  switch (r) {
    case VK_SUCCESS: return "VK_SUCCESS";
    case VK_NOT_READY: return "VK_NOT_READY";
    case VK_TIMEOUT: return "VK_TIMEOUT";
    case VK_INCOMPLETE: return "VK_INCOMPLETE";
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
    case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
    case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED";
    case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
    case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
    case VK_ERROR_FRAGMENTED_POOL: return "VK_ERROR_FRAGMENTED_POOL";
    case VK_ERROR_OUT_OF_POOL_MEMORY: return "VK_ERROR_OUT_OF_POOL_MEMORY";
    default: return "VkResult(other)";
  }
}

void Context::log(int level, const char* fmt, ...) {
  if (!log_fn) return;
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  log_fn(log_user, level, line);
}

namespace {

constexpr const char* k_validation_layer = "VK_LAYER_KHRONOS_validation";

// Debug mode only (UCE_VULKAN_VALIDATE=1): validation errors and warnings become errors of the
// next backend call; they are also logged.
VKAPI_ATTR VkBool32 VKAPI_CALL on_validation_message(
    VkDebugUtilsMessageSeverityFlagBitsEXT severity, VkDebugUtilsMessageTypeFlagsEXT,
    const VkDebugUtilsMessengerCallbackDataEXT* data, void* user) {
  auto* ctx = static_cast<Context*>(user);
  if (severity < VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) return VK_FALSE;
  const char* msg = data && data->pMessage ? data->pMessage : "(no message)";
  if (ctx->validation_error.empty()) ctx->validation_error = msg;
  ctx->log(UCE_LOG_WARN, "vulkan validation: %s", msg);
  std::fprintf(stderr, "uce vulkan validation: %s\n", msg);
  return VK_FALSE;
}

bool env_flag(const char* name) {
  const char* v = std::getenv(name);  // debug switch only: UCE_VULKAN_VALIDATE=1
  return v && *v && std::strcmp(v, "0") != 0;
}

bool layer_available(const char* name) {
  uint32_t n = 0;
  vkEnumerateInstanceLayerProperties(&n, nullptr);
  std::vector<VkLayerProperties> layers(n);
  vkEnumerateInstanceLayerProperties(&n, layers.data());
  for (const auto& l : layers)
    if (std::strcmp(l.layerName, name) == 0) return true;
  return false;
}

VkResult create_instance(bool validate, VkInstance* out) {
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "uce-engine";
  app.pEngineName = "uce-engine";
  app.apiVersion = VK_API_VERSION_1_2;
  VkInstanceCreateInfo ci{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ci.pApplicationInfo = &app;
  const char* layers[] = {k_validation_layer};
  const char* exts[] = {VK_EXT_DEBUG_UTILS_EXTENSION_NAME};
  // Debug mode also turns on synchronization validation: a missing barrier between dependent
  // dispatches or transfers is reported like any other validation error.
  VkValidationFeatureEnableEXT sync = VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT;
  VkValidationFeaturesEXT features{VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT};
  features.enabledValidationFeatureCount = 1;
  features.pEnabledValidationFeatures = &sync;
  if (validate) {
    ci.pNext = &features;
    ci.enabledLayerCount = 1;
    ci.ppEnabledLayerNames = layers;
    ci.enabledExtensionCount = 1;
    ci.ppEnabledExtensionNames = exts;
  }
  return vkCreateInstance(&ci, nullptr, out);
}

// One VkInstance per process (and per validation mode), created on first use and never destroyed:
// probe() and every open() share it; only VkDevices come and go. The NVIDIA driver (580.x, H100)
// does not survive instance churn: after ~30 vkCreateInstance/vkDestroyInstance cycles in one
// process vkCreateInstance fails with VK_ERROR_INCOMPATIBLE_DRIVER for the rest of the process
// (test_vulkan_backend hit it), and such cycles are reported to corrupt subgroup state too.
// Plugins are never unmapped by the core, so the handles stay valid; a failed creation is not
// cached (the next call retries).
VkResult shared_instance(bool validate, VkInstance* out) {
  static std::mutex mu;
  static VkInstance instances[2] = {VK_NULL_HANDLE, VK_NULL_HANDLE};
  std::lock_guard<std::mutex> lock(mu);
  VkInstance& slot = instances[validate ? 1 : 0];
  VkResult r = VK_SUCCESS;
  if (slot == VK_NULL_HANDLE) r = create_instance(validate, &slot);
  if (r != VK_SUCCESS) slot = VK_NULL_HANDLE;
  *out = slot;
  return r;
}

const char* device_type_name(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
  }
}

int device_type_rank(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 4;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 3;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 1;
    default: return 0;
  }
}

bool has_compute_queue(VkPhysicalDevice pd, uint32_t* family) {
  uint32_t n = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, nullptr);
  std::vector<VkQueueFamilyProperties> fams(n);
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, fams.data());
  for (uint32_t i = 0; i < n; ++i)
    if (fams[i].queueFlags & VK_QUEUE_COMPUTE_BIT) {
      if (family) *family = i;
      return true;
    }
  return false;
}

// Device choice: options.device_index (into the enumeration order), else the first device whose
// name contains options.device_name, else the best type (discrete > integrated > virtual > cpu).
uce_status select_device(Context& ctx, uce_error* err) {
  uint32_t n = 0;
  VkResult r = vkEnumeratePhysicalDevices(ctx.instance, &n, nullptr);
  if (r != VK_SUCCESS) return fail(err, UCE_ERR_DEVICE, "vulkan: vkEnumeratePhysicalDevices failed: %s", vk_result_name(r));
  if (n == 0) return fail(err, UCE_ERR_DEVICE, "vulkan: no Vulkan physical device (no ICD installed, or no GPU driver)");
  std::vector<VkPhysicalDevice> devs(n);
  vkEnumeratePhysicalDevices(ctx.instance, &n, devs.data());
  std::string names;
  for (uint32_t i = 0; i < n; ++i) {
    VkPhysicalDeviceProperties p;
    vkGetPhysicalDeviceProperties(devs[i], &p);
    names += (i ? ", " : "") + std::to_string(i) + ": " + p.deviceName;
  }
  auto name_ok = [&](VkPhysicalDevice d) {
    if (ctx.device_name_filter.empty()) return true;
    VkPhysicalDeviceProperties p;
    vkGetPhysicalDeviceProperties(d, &p);
    return std::strstr(p.deviceName, ctx.device_name_filter.c_str()) != nullptr;
  };
  VkPhysicalDevice chosen = VK_NULL_HANDLE;
  if (ctx.device_index >= 0) {
    if (static_cast<uint32_t>(ctx.device_index) >= n)
      return fail(err, UCE_ERR_INVALID_ARGUMENT, "vulkan: options.device_index %d out of range (devices: %s)",
                  ctx.device_index, names.c_str());
    chosen = devs[ctx.device_index];
    if (!name_ok(chosen))
      return fail(err, UCE_ERR_INVALID_ARGUMENT, "vulkan: device %d does not match options.device_name '%s' (devices: %s)",
                  ctx.device_index, ctx.device_name_filter.c_str(), names.c_str());
  } else {
    int best = -1;
    for (auto d : devs) {
      if (!name_ok(d) || !has_compute_queue(d, nullptr)) continue;
      VkPhysicalDeviceProperties p;
      vkGetPhysicalDeviceProperties(d, &p);
      int rank = device_type_rank(p.deviceType);
      if (rank > best) { best = rank; chosen = d; }
    }
    if (chosen == VK_NULL_HANDLE)
      return fail(err, UCE_ERR_DEVICE, "vulkan: no device with a compute queue matches options.device_name '%s' (devices: %s)",
                  ctx.device_name_filter.c_str(), names.c_str());
  }
  if (!has_compute_queue(chosen, &ctx.queue_family))
    return fail(err, UCE_ERR_DEVICE, "vulkan: the chosen device has no compute queue");
  ctx.phys = chosen;
  return UCE_OK;
}

// The shapes with fp16 A/B, subgroup scope and f32 or f16 accumulators that one extension's
// property query reports (KHR and NV have the same query with different structures; their
// component-type and scope values are the same numbers). `same_acc` checks C against the result.
template <typename Props, typename SameAcc>
std::vector<CoopmatShape> fp16_shapes(const Context& ctx, const char* query, VkStructureType stype, SameAcc same_acc) {
  std::vector<CoopmatShape> shapes;
  const auto f16 = static_cast<int>(VK_COMPONENT_TYPE_FLOAT16_NV), f32 = static_cast<int>(VK_COMPONENT_TYPE_FLOAT32_NV);
  for (const Props& p : coopmat_properties<Props>(ctx.instance, ctx.phys, query, stype)) {
    const int c_type = static_cast<int>(p.CType);
    if (static_cast<int>(p.scope) != static_cast<int>(VK_SCOPE_SUBGROUP_NV) || static_cast<int>(p.AType) != f16 ||
        static_cast<int>(p.BType) != f16 || !same_acc(p) || (c_type != f32 && c_type != f16))
      continue;
    shapes.push_back({p.MSize, p.NSize, p.KSize, c_type == f32});
  }
  return shapes;
}

void read_caps(Context& ctx) {
  Caps& c = ctx.caps;
  VkPhysicalDeviceVulkan11Properties p11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_PROPERTIES};
  VkPhysicalDeviceVulkan12Properties p12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_PROPERTIES};
  p11.pNext = &p12;
  VkPhysicalDeviceProperties2 p2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  p2.pNext = &p11;
  vkGetPhysicalDeviceProperties2(ctx.phys, &p2);
  const auto& p = p2.properties;
  c.device_name = p.deviceName;
  c.driver_name = p12.driverName;
  c.driver_info = p12.driverInfo;
  c.device_type = p.deviceType;
  c.api_version = p.apiVersion;
  c.vendor_id = p.vendorID;
  c.device_id = p.deviceID;
  c.driver_version = p.driverVersion;
  std::memcpy(c.pipeline_cache_uuid, p.pipelineCacheUUID, VK_UUID_SIZE);
  c.subgroup_size = p11.subgroupSize;
  c.max_shared = p.limits.maxComputeSharedMemorySize;
  c.max_storage_range = p.limits.maxStorageBufferRange;
  c.max_alloc = p11.maxMemoryAllocationSize;
  c.storage_align = std::max<uint64_t>(p.limits.minStorageBufferOffsetAlignment, 4);
  for (int i = 0; i < 3; ++i) c.max_groups[i] = p.limits.maxComputeWorkGroupCount[i];

  VkPhysicalDeviceCooperativeMatrixFeaturesNV cm{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
  VkPhysicalDeviceCooperativeMatrixFeaturesKHR cmk{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_KHR};
  VkPhysicalDeviceVulkan11Features f11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
  VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  f11.pNext = &f12;
  const bool cm_ext = has_device_extension(ctx.phys, VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME);
  const bool cmk_ext = has_device_extension(ctx.phys, VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME);
  void** tail = &f12.pNext;
  if (cm_ext) { *tail = &cm; tail = &cm.pNext; }
  if (cmk_ext) { *tail = &cmk; tail = &cmk.pNext; }
  VkPhysicalDeviceFeatures2 f2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  f2.pNext = &f11;
  vkGetPhysicalDeviceFeatures2(ctx.phys, &f2);
  c.storage16 = f11.storageBuffer16BitAccess && f2.features.shaderInt16;
  c.float16 = f12.shaderFloat16;
  c.memory_model = f12.vulkanMemoryModel;
  c.coopmat_nv = cm_ext && cm.cooperativeMatrix;
  c.coopmat_khr = cmk_ext && cmk.cooperativeMatrix;
  if (c.coopmat_khr)
    c.coopmat_khr_shapes = fp16_shapes<VkCooperativeMatrixPropertiesKHR>(
        ctx, "vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR", VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_KHR,
        [](const VkCooperativeMatrixPropertiesKHR& cp) { return cp.CType == cp.ResultType && !cp.saturatingAccumulation; });
  if (c.coopmat_nv)
    c.coopmat_shapes = fp16_shapes<VkCooperativeMatrixPropertiesNV>(
        ctx, "vkGetPhysicalDeviceCooperativeMatrixPropertiesNV", VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV,
        [](const VkCooperativeMatrixPropertiesNV& cp) { return cp.CType == cp.DType; });
}

bool has_shape(const std::vector<CoopmatShape>& shapes, const char* variant) {
  for (const auto& s : shapes) {
    char name[64];
    std::snprintf(name, sizeof(name), "%ux%ux%u_acc%s", s.m, s.n, s.k, s.acc_f32 ? "32" : "16");
    if (std::strcmp(name, variant) == 0) return true;
  }
  return false;
}

// UCE_VULKAN_COOPMAT=nv|khr: measurement switch that restricts the choice to one extension.
std::string coopmat_api_override() {
  const char* v = std::getenv("UCE_VULKAN_COOPMAT");
  return v ? std::string(v) : std::string();
}

// Picks the cooperative-matrix LINEAR variant and extension, or records why the scalar GEMM is used.
// KHR first: the vendor-neutral extension, and on the H100 ~7% faster end to end than NV
// (bench/RESULTS.md, 2026-11-23). The KHR shaders exist only as 16x8x16 with f32 accumulators
// (see cmake/coopmat_nv_to_khr.py); the attention uses the same shape as the GEMM.
// fp32 runs (allow_coopmat without allow_fp16): LINEAR with fp32 accuracy on fp16 tensor cores,
// x and W split into hi + lo fp16 with row scales (split_f16x2.comp, linear_coopmat_split_nv.comp),
// where the device has the 16x8x16 f32-accumulator shape; KHR first, as for the fp16 path.
// UCE_VULKAN_SPLIT=0: measurement switch that keeps the scalar f32 GEMM.
void choose_split_path(Context& ctx) {
  const Caps& c = ctx.caps;
  const char* off = std::getenv("UCE_VULKAN_SPLIT");
  constexpr uint32_t kSplitShared = 4 * 128 * 5 * 16 + 8 * 16 * 8 * 4;  // linear_coopmat_split_nv.comp
  std::string why;
  if (off && std::strcmp(off, "0") == 0) why = "UCE_VULKAN_SPLIT=0";
  else if (!c.float16 || !c.storage16 || !c.memory_model) why = "needs shaderFloat16, 16-bit storage, vulkanMemoryModel";
  else if (c.subgroup_size != 32) why = "shader assumes subgroup size 32";
  else if (c.max_shared < kSplitShared) why = "needs 44 KiB of shared memory";
  const std::string only = coopmat_api_override();
  if (why.empty() && c.coopmat_khr && only != "nv" && has_shape(c.coopmat_khr_shapes, "16x8x16_acc32") &&
      has_shader("linear_cm_khr_split_16x8x16_acc32")) {
    ctx.coopmat_api = "khr";
    ctx.split_gemm = "linear_cm_khr_split_16x8x16_acc32";
  } else if (why.empty() && c.coopmat_nv && only != "khr" && has_shape(c.coopmat_shapes, "16x8x16_acc32") &&
             has_shader("linear_cm_nv_split_16x8x16_acc32")) {
    ctx.coopmat_api = "nv";
    ctx.split_gemm = "linear_cm_nv_split_16x8x16_acc32";
  } else if (why.empty()) {
    why = "no 16x8x16 fp16 shape with f32 accumulators";
  }
  ctx.coopmat_note = ctx.split_gemm.empty()
                         ? "fp32 GEMM on tensor cores unavailable (" + why + "); fp16 coopmat off (options.allow_fp16 = 0)"
                         : "fp32 GEMM as 3xFP16 on " + std::string(ctx.coopmat_api == "khr" ? "KHR" : "NV") +
                               " 16x8x16 coopmat (hi/lo fp16 split, row scales); attention: scalar f32";
}

void choose_linear_path(Context& ctx) {
  const Caps& c = ctx.caps;
  ctx.coopmat_variant.clear();
  ctx.coopmat_api.clear();
  ctx.split_gemm.clear();
  ctx.attention_coopmat = false;
  if (!ctx.allow_coopmat) { ctx.coopmat_note = "coopmat off (options.allow_coopmat = 0)"; return; }
  if (!ctx.allow_fp16) {
    if (c.coopmat_nv || c.coopmat_khr) {
      choose_split_path(ctx);
    } else {
      ctx.coopmat_note = "coopmat unsupported (no VK_KHR_cooperative_matrix or VK_NV_cooperative_matrix)";
    }
    return;
  }
  if (!c.coopmat_nv && !c.coopmat_khr) {
    ctx.coopmat_note = "coopmat unsupported (no VK_KHR_cooperative_matrix or VK_NV_cooperative_matrix)";
    return;
  }
  if (!c.float16 || !c.storage16 || !c.memory_model) {
    ctx.coopmat_note = "coopmat unsupported (needs shaderFloat16, 16-bit storage, vulkanMemoryModel)";
    return;
  }
  if (c.subgroup_size != 32) { ctx.coopmat_note = "coopmat unsupported (shader assumes subgroup size 32)"; return; }
  const std::string only = coopmat_api_override();
  if (c.coopmat_khr && only != "nv" && has_shape(c.coopmat_khr_shapes, "16x8x16_acc32") &&
      has_shader("linear_cm_khr_f16_16x8x16_acc32")) {
    ctx.coopmat_api = "khr";
    ctx.coopmat_variant = "16x8x16_acc32";
    ctx.attention_coopmat = has_shader("attention_cm_khr_hd64");
    ctx.coopmat_note = std::string("coopmat KHR 16x8x16_acc32; attention: ") +
                       (ctx.attention_coopmat ? "coopmat KHR 16x8x16 (head dim <= 64)" : "scalar");
    return;
  }
  if (!c.coopmat_nv || only == "khr") {
    ctx.coopmat_note = "coopmat unsupported (no KHR 16x8x16 fp16/f32 shape, or KHR shaders not built)";
    return;
  }
  // NV: prefer f32 accumulation; among shapes the shaders were built for, prefer the wider N.
#ifdef UCE_VK_COOPMAT_PREFER_16X8
  const char* order[] = {"16x8x16_acc32", "16x16x16_acc32", "16x8x16_acc16", "16x16x16_acc16"};
#else
  const char* order[] = {"16x16x16_acc32", "16x8x16_acc32", "16x16x16_acc16", "16x8x16_acc16"};
#endif
  for (const char* want : order) {
    if (!has_shape(c.coopmat_shapes, want) || !has_shader(("linear_cm_nv_f16_" + std::string(want)).c_str())) continue;
    ctx.coopmat_api = "nv";
    ctx.coopmat_variant = want;
    ctx.coopmat_note = std::string("coopmat NV ") + want;
    // The NV tensor-core attention is built for the 16x16x16 shape with f32 accumulation.
    ctx.attention_coopmat = has_shape(c.coopmat_shapes, "16x16x16_acc32") && has_shader("attention_cm_nv_hd64");
    ctx.coopmat_note += ctx.attention_coopmat ? "; attention: coopmat NV 16x16x16 (head dim <= 64)" : "; attention: scalar";
    return;
  }
  ctx.coopmat_note = "coopmat unsupported (no reported fp16 shape matches 16x8x16/16x16x16, or shaders not built)";
}

// Kernels that index the components of cooperative matrices (the register-softmax attention,
// the GEMM's register epilogue) assume NVIDIA's fragment layout: probed once here, after the
// device and pipelines exist, and used only where it matches.
// UCE_VULKAN_ATTENTION_REGS=0 / UCE_VULKAN_GEMM_REGS=0: measurement switches that keep the
// shared-memory versions.
void choose_register_paths(Context& ctx) {
  ctx.attention_regs = MmaAOrder::kNone;
  ctx.gemm_regs_epilogue = false;
  if (ctx.coopmat_api != "khr" || !has_shader("coopmat_layout_probe_khr")) return;
  auto off = [](const char* name) {
    const char* v = std::getenv(name);
    return v && std::strcmp(v, "0") == 0;
  };
  const bool attention = ctx.attention_coopmat && has_shader("attention_cmr_khr_hd64") &&
                         has_shader("attention_cmr_rows_khr_hd64") && !off("UCE_VULKAN_ATTENTION_REGS");
  const bool gemm = has_shader(("linear_cm_khr_vecr_" + ctx.coopmat_variant).c_str()) && !off("UCE_VULKAN_GEMM_REGS");
  const bool split = ctx.split_gemm == "linear_cm_khr_split_16x8x16_acc32" &&
                     has_shader("linear_cm_khr_splitr_16x8x16_acc32") && !off("UCE_VULKAN_GEMM_REGS");
  if (!attention && !gemm && !split) return;
  std::string why;
  const MmaAOrder order = probe_mma_layout(ctx, "coopmat_layout_probe_khr", &why);
  if (order == MmaAOrder::kNone) {
    ctx.coopmat_note += "; fragment layout unknown, shared-memory epilogue and softmax (" + why + ")";
    return;
  }
  ctx.coopmat_note += std::string("; fragment layout probed (A rows ") +
                      (order == MmaAOrder::kRowsInner ? "inner)" : "outer)");
  if (attention) ctx.attention_regs = order;
  ctx.gemm_regs_epilogue = gemm;
  if (split) {  // the fp32 path has no attention on tensor cores: only its GEMM epilogue changes
    ctx.split_gemm = "linear_cm_khr_splitr_16x8x16_acc32";
    ctx.coopmat_note += ": GEMM epilogue in registers";
    return;
  }
  ctx.coopmat_note += std::string(": softmax in ") + (attention ? "registers" : "shared memory") +
                      ", GEMM epilogue in " + (gemm ? "registers" : "shared memory");
}

// One primary command buffer from the context's pool (a batch's first part, or a later one).
uce_status allocate_command_buffer(Context& ctx, VkCommandBuffer* out, uce_error* err) {
  VkCommandBufferAllocateInfo cai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  cai.commandPool = ctx.cmd_pool;
  cai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  cai.commandBufferCount = 1;
  VkResult r = vkAllocateCommandBuffers(ctx.device, &cai, out);
  if (r != VK_SUCCESS) return fail(err, UCE_ERR_DEVICE, "vulkan: vkAllocateCommandBuffers failed: %s", vk_result_name(r));
  return UCE_OK;
}

uce_status create_device(Context& ctx, uce_error* err) {
  const Caps& c = ctx.caps;
  float prio = 1.0f;
  VkDeviceQueueCreateInfo qci{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  qci.queueFamilyIndex = ctx.queue_family;
  qci.queueCount = 1;
  qci.pQueuePriorities = &prio;

  // Enable only what the device has; ops check the same flags before using a variant.
  VkPhysicalDeviceCooperativeMatrixFeaturesNV cm{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
  VkPhysicalDeviceCooperativeMatrixFeaturesKHR cmk{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_KHR};
  VkPhysicalDeviceVulkan11Features f11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
  VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  VkPhysicalDeviceFeatures2 f2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  f2.pNext = &f11;
  f11.pNext = &f12;
  f11.storageBuffer16BitAccess = c.storage16;
  f2.features.shaderInt16 = c.storage16;
  f12.shaderFloat16 = c.float16;
  f12.vulkanMemoryModel = c.memory_model;
  std::vector<const char*> exts;
  // Only the extension the chosen coopmat shaders use (choose_linear_path ran before).
  if (ctx.coopmat_api == "nv") {
    cm.cooperativeMatrix = VK_TRUE;
    f12.pNext = &cm;
    exts.push_back(VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME);
  } else if (ctx.coopmat_api == "khr") {
    cmk.cooperativeMatrix = VK_TRUE;
    f12.pNext = &cmk;
    exts.push_back(VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME);
  }
  // Profiling only: the driver's per-pipeline statistics (registers, spills, ...), printed when a
  // pipeline is created (vk_profile.cpp).
  VkPhysicalDevicePipelineExecutablePropertiesFeaturesKHR pe{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PIPELINE_EXECUTABLE_PROPERTIES_FEATURES_KHR};
  if (profile_requested() && has_device_extension(ctx.phys, VK_KHR_PIPELINE_EXECUTABLE_PROPERTIES_EXTENSION_NAME)) {
    pe.pipelineExecutableInfo = VK_TRUE;
    pe.pNext = f2.pNext;
    f2.pNext = &pe;
    exts.push_back(VK_KHR_PIPELINE_EXECUTABLE_PROPERTIES_EXTENSION_NAME);
    ctx.pipeline_stats = true;
  }
  VkDeviceCreateInfo dci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  dci.pNext = &f2;
  dci.queueCreateInfoCount = 1;
  dci.pQueueCreateInfos = &qci;
  dci.enabledExtensionCount = static_cast<uint32_t>(exts.size());
  dci.ppEnabledExtensionNames = exts.data();
  VkResult r = vkCreateDevice(ctx.phys, &dci, nullptr, &ctx.device);
  if (r != VK_SUCCESS)
    return fail(err, UCE_ERR_DEVICE, "vulkan: vkCreateDevice on '%s' failed: %s", c.device_name.c_str(), vk_result_name(r));
  vkGetDeviceQueue(ctx.device, ctx.queue_family, 0, &ctx.queue);

  VkCommandPoolCreateInfo pci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pci.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pci.queueFamilyIndex = ctx.queue_family;
  r = vkCreateCommandPool(ctx.device, &pci, nullptr, &ctx.cmd_pool);
  if (r != VK_SUCCESS) return fail(err, UCE_ERR_DEVICE, "vulkan: vkCreateCommandPool failed: %s", vk_result_name(r));
  uce_status st = allocate_command_buffer(ctx, &ctx.cmd, err);
  if (st != UCE_OK) return st;
  VkFenceCreateInfo fci{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  r = vkCreateFence(ctx.device, &fci, nullptr, &ctx.fence);
  if (r != VK_SUCCESS) return fail(err, UCE_ERR_DEVICE, "vulkan: vkCreateFence failed: %s", vk_result_name(r));
  return UCE_OK;
}

}  // namespace

uce_status context_open(const uce_backend_options* options, Context** out, uce_error* err) {
  *out = nullptr;
  auto* ctx = new (std::nothrow) Context();
  if (!ctx) return fail(err, UCE_ERR_OUT_OF_MEMORY, "vulkan: out of host memory");
  if (options) {
    // Read only the option slots this struct_size covers (older cores pass shorter structs).
    const size_t sz = options->struct_size;
    auto has = [&](size_t field_end) { return sz >= field_end; };
    if (has(offsetof(uce_backend_options, device_index) + sizeof(int32_t))) ctx->device_index = options->device_index;
    if (has(offsetof(uce_backend_options, device_name) + sizeof(void*)) && options->device_name)
      ctx->device_name_filter = options->device_name;
    if (has(offsetof(uce_backend_options, allow_fp16) + sizeof(int32_t))) ctx->allow_fp16 = options->allow_fp16 != 0;
    if (has(offsetof(uce_backend_options, allow_coopmat) + sizeof(int32_t))) ctx->allow_coopmat = options->allow_coopmat != 0;
    // UCE_VULKAN_SUBMIT_EVERY=N: dispatches per submitted part of a batch (0 = whole batches).
    if (const char* every = std::getenv("UCE_VULKAN_SUBMIT_EVERY"))
      ctx->submit_every = static_cast<uint32_t>(std::strtoul(every, nullptr, 10));
    if (has(offsetof(uce_backend_options, cache_dir) + sizeof(void*)) && options->cache_dir)
      ctx->cache_dir = options->cache_dir;
    if (has(offsetof(uce_backend_options, log_user) + sizeof(void*))) {
      ctx->log_fn = options->log;
      ctx->log_user = options->log_user;
    }
  }
  ctx->validate = env_flag("UCE_VULKAN_VALIDATE");
  if (ctx->validate && !layer_available(k_validation_layer)) {
    delete ctx;
    return fail(err, UCE_ERR_DEVICE, "vulkan: UCE_VULKAN_VALIDATE=1 but %s is not installed (vulkan-validationlayers)", k_validation_layer);
  }
  VkResult r = shared_instance(ctx->validate, &ctx->instance);
  if (r != VK_SUCCESS) {
    delete ctx;
    return fail(err, UCE_ERR_DEVICE, "vulkan: vkCreateInstance failed: %s", vk_result_name(r));
  }
  if (ctx->validate) {
    auto create = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(ctx->instance, "vkCreateDebugUtilsMessengerEXT"));
    VkDebugUtilsMessengerCreateInfoEXT mci{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
    mci.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    mci.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                      VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
    mci.pfnUserCallback = on_validation_message;
    mci.pUserData = ctx;
    if (create) create(ctx->instance, &mci, nullptr, &ctx->messenger);
  }
  uce_status st = select_device(*ctx, err);
  if (st == UCE_OK) {
    read_caps(*ctx);
    if (ctx->caps.api_version < VK_API_VERSION_1_2)
      st = fail(err, UCE_ERR_DEVICE, "vulkan: device '%s' supports Vulkan %u.%u; 1.2 is required",
                ctx->caps.device_name.c_str(), VK_API_VERSION_MAJOR(ctx->caps.api_version),
                VK_API_VERSION_MINOR(ctx->caps.api_version));
  }
  if (st == UCE_OK) {
    choose_linear_path(*ctx);  // before create_device: it enables the chosen coopmat extension
    st = create_device(*ctx, err);
  }
  if (st == UCE_OK) profile_init(*ctx);
  if (st == UCE_OK) st = memory_init(*ctx, err);
  if (st == UCE_OK) st = pipelines_init(*ctx, err);
  if (st == UCE_OK) choose_register_paths(*ctx);
  if (st == UCE_OK) st = check_validation(*ctx, err);
  if (st != UCE_OK) {
    context_close(ctx);
    return st;
  }
  char line[512];
  context_describe(*ctx, line, sizeof(line));
  ctx->log(UCE_LOG_INFO, "%s", line);
  *out = ctx;
  return UCE_OK;
}

void context_close(Context* ctx) {
  if (!ctx) return;
  if (ctx->device) {
    vkDeviceWaitIdle(ctx->device);
    profile_shutdown(*ctx);
    pipelines_shutdown(*ctx);
    weights_shutdown(*ctx);
    memory_shutdown(*ctx);
    if (ctx->fence) vkDestroyFence(ctx->device, ctx->fence, nullptr);
    if (ctx->cmd_pool) vkDestroyCommandPool(ctx->device, ctx->cmd_pool, nullptr);
    vkDestroyDevice(ctx->device, nullptr);
  }
  if (ctx->messenger) {
    auto destroy = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(ctx->instance, "vkDestroyDebugUtilsMessengerEXT"));
    if (destroy) destroy(ctx->instance, ctx->messenger, nullptr);
  }
  // ctx->instance is the process-wide shared instance: not destroyed here.
  delete ctx;
}

void context_describe(const Context& ctx, char* buf, size_t len) {
  if (!buf || len == 0) return;
  const Caps& c = ctx.caps;
  auto list = [](const std::vector<CoopmatShape>& from) {
    std::string out;
    for (const auto& s : from) {
      char one[48];
      std::snprintf(one, sizeof(one), "%s%ux%ux%u/%s", out.empty() ? "" : ",", s.m, s.n, s.k, s.acc_f32 ? "f32" : "f16");
      out += one;
    }
    return out;
  };
  // Usually both extensions report the same shapes: then the list is printed once.
  const std::string khr = list(c.coopmat_khr_shapes), nv = list(c.coopmat_shapes);
  const std::string shapes = khr == nv ? (khr.empty() ? "" : "KHR+NV " + khr)
                                       : "KHR " + (khr.empty() ? "-" : khr) + "; NV " + (nv.empty() ? "-" : nv);
  std::snprintf(buf, len,
                "vulkan: %s [%s] driver %s (%s), api %u.%u.%u, subgroup %u, shared %u B, max binding %llu MiB, "
                "fp16 storage %s, fp16 math %s, coopmat shapes [%s]; linear: %s%s",
                c.device_name.c_str(), device_type_name(c.device_type), c.driver_name.c_str(), c.driver_info.c_str(),
                VK_API_VERSION_MAJOR(c.api_version), VK_API_VERSION_MINOR(c.api_version),
                VK_API_VERSION_PATCH(c.api_version), c.subgroup_size, c.max_shared,
                static_cast<unsigned long long>(c.max_storage_range >> 20), c.storage16 ? "yes" : "no",
                c.float16 ? "yes" : "no", shapes.c_str(),
                ctx.coopmat_variant.empty() && ctx.split_gemm.empty() ? "scalar tiled f32 GEMM; " : "",
                ctx.coopmat_note.c_str());
}

int32_t context_probe(char* why, size_t why_len) {
  auto say = [&](const char* fmt, const char* a, const char* b) {
    if (why && why_len) std::snprintf(why, why_len, fmt, a, b);
  };
  VkInstance inst = VK_NULL_HANDLE;
  VkResult r = shared_instance(false, &inst);
  if (r != VK_SUCCESS) {
    say("vulkan: vkCreateInstance failed (%s)%s", vk_result_name(r),
        r == VK_ERROR_INCOMPATIBLE_DRIVER ? ": no Vulkan 1.2 driver (ICD) installed" : "");
    return 0;
  }
  uint32_t n = 0;
  r = vkEnumeratePhysicalDevices(inst, &n, nullptr);
  std::vector<VkPhysicalDevice> devs(n);
  if (r == VK_SUCCESS && n) vkEnumeratePhysicalDevices(inst, &n, devs.data());
  int best = 0;
  std::string best_name;
  for (auto d : devs) {
    VkPhysicalDeviceProperties p;
    vkGetPhysicalDeviceProperties(d, &p);
    if (p.apiVersion < VK_API_VERSION_1_2 || !has_compute_queue(d, nullptr)) continue;
    int rank = device_type_rank(p.deviceType);
    if (rank > best) { best = rank; best_name = p.deviceName; }
  }
  if (r != VK_SUCCESS) {
    say("vulkan: vkEnumeratePhysicalDevices failed (%s)%s", vk_result_name(r), "");
    return 0;
  }
  if (n == 0) {
    say("vulkan: no Vulkan physical device (no GPU driver or ICD such as mesa-vulkan-drivers installed)%s%s", "", "");
    return 0;
  }
  if (best == 0) {
    say("vulkan: no device with Vulkan 1.2 and a compute queue%s%s", "", "");
    return 0;
  }
  // A CPU implementation (lavapipe) works but is slower than the BLAS plugin: score it low.
  static const int32_t k_scores[] = {0, 5, 40, 80, 100};
  say("vulkan: %s%s", best_name.c_str(), "");
  return k_scores[best];
}

// ---- commands -----------------------------------------------------------------------------------

uce_status check_validation(Context& ctx, uce_error* err) {
  if (!ctx.validate || ctx.validation_error.empty()) return UCE_OK;
  std::string msg = ctx.validation_error;
  ctx.validation_error.clear();
  std::replace(msg.begin(), msg.end(), '\n', ' ');
  return fail(err, UCE_ERR_INTERNAL, "vulkan validation error: %s", msg.c_str());
}

uce_status begin_batch(Context& ctx, uce_error* err) {
  if (ctx.recording) return UCE_OK;
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  VkResult r = vkBeginCommandBuffer(ctx.cmd, &bi);
  if (r != VK_SUCCESS) return fail(err, UCE_ERR_DEVICE, "vulkan: vkBeginCommandBuffer failed: %s", vk_result_name(r));
  // Everything earlier on the queue (transfers, previous batches) is visible to this batch.
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  mb.srcAccessMask = VK_ACCESS_MEMORY_WRITE_BIT;
  mb.dstAccessMask = VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT;
  vkCmdPipelineBarrier(ctx.cmd, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, 0, 1, &mb,
                       0, nullptr, 0, nullptr);
  ctx.recording = true;
  ctx.batch_dispatches = 0;
  profile_begin(ctx);
  return UCE_OK;
}

namespace {

uce_status allocate_set(Context& ctx, VkDescriptorSet* out, uce_error* err) {
  while (true) {
    if (ctx.pool_cursor == ctx.pools.size()) {
      VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, k_sets_per_pool * k_bindings};
      VkDescriptorPoolCreateInfo pci{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
      pci.maxSets = k_sets_per_pool;
      pci.poolSizeCount = 1;
      pci.pPoolSizes = &size;
      VkDescriptorPool pool;
      VkResult r = vkCreateDescriptorPool(ctx.device, &pci, nullptr, &pool);
      if (r != VK_SUCCESS) return fail(err, UCE_ERR_DEVICE, "vulkan: vkCreateDescriptorPool failed: %s", vk_result_name(r));
      ctx.pools.push_back(pool);
    }
    VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    ai.descriptorPool = ctx.pools[ctx.pool_cursor];
    ai.descriptorSetCount = 1;
    ai.pSetLayouts = &ctx.set_layout;
    VkResult r = vkAllocateDescriptorSets(ctx.device, &ai, out);
    if (r == VK_SUCCESS) return UCE_OK;
    if (r != VK_ERROR_OUT_OF_POOL_MEMORY && r != VK_ERROR_FRAGMENTED_POOL)
      return fail(err, UCE_ERR_DEVICE, "vulkan: vkAllocateDescriptorSets failed: %s", vk_result_name(r));
    ++ctx.pool_cursor;  // this pool is full for this batch: move on to the next one
  }
}

// Submits the batch recorded so far without waiting (record_dispatch, every submit_every
// dispatches) and continues in another command buffer.
uce_status submit_part(Context& ctx, uce_error* err) {
  VkResult r = vkEndCommandBuffer(ctx.cmd);
  if (r != VK_SUCCESS) return fail(err, UCE_ERR_DEVICE, "vulkan: vkEndCommandBuffer failed: %s", vk_result_name(r));
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.commandBufferCount = 1;
  si.pCommandBuffers = &ctx.cmd;
  r = vkQueueSubmit(ctx.queue, 1, &si, VK_NULL_HANDLE);
  if (r != VK_SUCCESS) return fail(err, UCE_ERR_DEVICE, "vulkan: vkQueueSubmit failed: %s", vk_result_name(r));
  ctx.submitted.push_back(ctx.cmd);
  ctx.recording = false;  // the next dispatch begins a new part (begin_batch orders it after this one)
  if (!ctx.spare_cmds.empty()) {
    ctx.cmd = ctx.spare_cmds.back();
    ctx.spare_cmds.pop_back();
    return UCE_OK;
  }
  return allocate_command_buffer(ctx, &ctx.cmd, err);
}

}  // namespace

uce_status record_dispatch(Context& ctx, VkPipeline pipeline, const VkDescriptorBufferInfo* infos,
                           const void* push, uint32_t push_bytes, uint32_t gx, uint32_t gy,
                           uint32_t gz, const char* label, uce_error* err) {
  uce_status st = begin_batch(ctx, err);
  if (st != UCE_OK) return st;
  VkDescriptorSet set;
  st = allocate_set(ctx, &set, err);
  if (st != UCE_OK) return st;
  VkWriteDescriptorSet writes[k_bindings];
  for (uint32_t i = 0; i < k_bindings; ++i) {
    writes[i] = VkWriteDescriptorSet{VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    writes[i].dstSet = set;
    writes[i].dstBinding = i;
    writes[i].descriptorCount = 1;
    writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    writes[i].pBufferInfo = &infos[i];
  }
  vkUpdateDescriptorSets(ctx.device, k_bindings, writes, 0, nullptr);
  if (ctx.batch_dispatches > 0) {
    // Ops of a batch usually consume their predecessor's output: order every dispatch after the
    // previous one's shader writes.
    VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
    mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
    vkCmdPipelineBarrier(ctx.cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1,
                         &mb, 0, nullptr, 0, nullptr);
  }
  vkCmdBindPipeline(ctx.cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline);
  vkCmdBindDescriptorSets(ctx.cmd, VK_PIPELINE_BIND_POINT_COMPUTE, ctx.pipeline_layout, 0, 1, &set, 0, nullptr);
  if (push_bytes) vkCmdPushConstants(ctx.cmd, ctx.pipeline_layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes, push);
  vkCmdDispatch(ctx.cmd, gx, gy, gz);
  ++ctx.batch_dispatches;
  if (ctx.profiler) profile_command(ctx, label, uint64_t(gx) * gy * gz);
  // The profiler times one command buffer per batch: it keeps whole batches.
  if (ctx.submit_every && ctx.batch_dispatches >= ctx.submit_every && !ctx.profiler) return submit_part(ctx, err);
  return UCE_OK;
}

uce_status flush(Context& ctx, uce_error* err) {
  if (!ctx.recording && ctx.submitted.empty()) return check_validation(ctx, err);
  if (!ctx.recording) {  // parts are in flight: the fence goes on one more (empty) part after them
    uce_status st = begin_batch(ctx, err);
    if (st != UCE_OK) return st;
  }
  // Make the batch's writes available to the host and to later transfers.
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  mb.srcAccessMask = VK_ACCESS_MEMORY_WRITE_BIT;
  mb.dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT;
  vkCmdPipelineBarrier(ctx.cmd, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT,
                       VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, 0, 1, &mb, 0, nullptr, 0,
                       nullptr);
  ctx.recording = false;
  VkResult r = vkEndCommandBuffer(ctx.cmd);
  if (r != VK_SUCCESS) return fail(err, UCE_ERR_DEVICE, "vulkan: vkEndCommandBuffer failed: %s", vk_result_name(r));
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.commandBufferCount = 1;
  si.pCommandBuffers = &ctx.cmd;
  profile_submitted(ctx);
  r = vkQueueSubmit(ctx.queue, 1, &si, ctx.fence);
  if (r != VK_SUCCESS) return fail(err, UCE_ERR_DEVICE, "vulkan: vkQueueSubmit failed: %s", vk_result_name(r));
  r = vkWaitForFences(ctx.device, 1, &ctx.fence, VK_TRUE, UINT64_MAX);
  if (r != VK_SUCCESS) return fail(err, UCE_ERR_DEVICE, "vulkan: vkWaitForFences failed: %s", vk_result_name(r));
  profile_finished(ctx);
  vkResetFences(ctx.device, 1, &ctx.fence);
  vkResetCommandBuffer(ctx.cmd, 0);
  for (VkCommandBuffer c : ctx.submitted) {
    vkResetCommandBuffer(c, 0);
    ctx.spare_cmds.push_back(c);
  }
  ctx.submitted.clear();
  for (auto pool : ctx.pools) vkResetDescriptorPool(ctx.device, pool, 0);
  ctx.pool_cursor = 0;
  ctx.batch_dispatches = 0;
  return check_validation(ctx, err);
}

}  // namespace uce_vk
