// vk_context.hpp — the Vulkan device context behind one opened uce_backend: instance, device,
// capabilities, memory, batched command recording, descriptor sets and the pipeline cache.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdarg>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "uce/uce_plugin.h"
#include "vk_fragment_layout.hpp"

namespace uce_vk {

// Writes a one-line message into err (may be NULL) and returns st.
uce_status fail(uce_error* err, uce_status st, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char* vk_result_name(VkResult r);

// One cooperative-matrix shape the device reports (fp16 A/B, subgroup scope).
struct CoopmatShape {
  uint32_t m, n, k;
  bool acc_f32;  // C/D are f32 (else f16)
};

// What the device can do, read once at open() and reported by describe().
struct Caps {
  std::string device_name, driver_name, driver_info;
  VkPhysicalDeviceType device_type = VK_PHYSICAL_DEVICE_TYPE_OTHER;
  uint32_t api_version = 0, vendor_id = 0, device_id = 0, driver_version = 0;
  uint8_t pipeline_cache_uuid[VK_UUID_SIZE] = {};
  bool storage16 = false;     // storageBuffer16BitAccess + shaderInt16: f16/bf16 tensors
  bool float16 = false;       // shaderFloat16 arithmetic
  bool memory_model = false;  // vulkanMemoryModel (the coopmat shaders declare it)
  bool coopmat_nv = false;    // VK_NV_cooperative_matrix extension + feature
  std::vector<CoopmatShape> coopmat_shapes;
  bool coopmat_khr = false;   // VK_KHR_cooperative_matrix extension + feature
  std::vector<CoopmatShape> coopmat_khr_shapes;
  uint32_t subgroup_size = 0;
  uint32_t max_shared = 0;
  uint64_t max_storage_range = 0;
  uint64_t max_alloc = 0;
  uint64_t storage_align = 16;
  uint32_t max_groups[3] = {0, 0, 0};
};

struct Buffer {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  VkDeviceSize size = 0;    // usable bytes (allocation is rounded up to 16)
  VkDeviceSize alloc = 0;   // bytes of the VkBuffer
  void* mapped = nullptr;   // persistently mapped when device memory is host-visible
  uint64_t id = 0;          // unique per context: keys the fp16 weight copies (vk_weights.cpp)
  uint64_t generation = 0;  // bumped by every write (host or op dst): stale copies are redone
};

// An fp16 copy of an f32 weight tensor, made on the device the first time the cooperative-matrix
// GEMM reads it (vk_weights.cpp).
struct Fp16CopyKey {  // the source tensor's buffer and placement
  uint64_t buffer_id = 0;
  uint64_t offset = 0;
  int64_t rows = 0, cols = 0, stride = 0;
  bool operator<(const Fp16CopyKey& o) const {
    return std::tie(buffer_id, offset, rows, cols, stride) < std::tie(o.buffer_id, o.offset, o.rows, o.cols, o.stride);
  }
};
struct Fp16Copy {
  uint64_t generation = 0;  // source buffer's generation when converted
  struct ::uce_buffer* buf = nullptr;
};

constexpr uint32_t k_bindings = 6;        // every pipeline shares one 6-binding set layout
constexpr uint32_t k_push_bytes = 128;    // the guaranteed minimum maxPushConstantsSize
constexpr uint32_t k_sets_per_pool = 512;

struct Profiler;  // vk_profile.cpp

struct Context {
  // options (strings copied)
  int device_index = -1;
  std::string device_name_filter, cache_dir;
  bool allow_fp16 = false, allow_coopmat = false;
  void (*log_fn)(void*, int, const char*) = nullptr;
  void* log_user = nullptr;

  VkInstance instance = VK_NULL_HANDLE;  // process-wide, shared by every context: not owned
  VkDebugUtilsMessengerEXT messenger = VK_NULL_HANDLE;
  bool validate = false;
  std::string validation_error;  // first validation error/warning seen (debug mode)

  VkPhysicalDevice phys = VK_NULL_HANDLE;
  VkDevice device = VK_NULL_HANDLE;
  VkQueue queue = VK_NULL_HANDLE;
  uint32_t queue_family = 0;
  Caps caps;

  // memory
  VkPhysicalDeviceMemoryProperties mem_props{};
  bool device_memory_mapped = false;  // buffers are host-visible: write/read by memcpy
  Buffer staging;                     // host-visible bounce buffer otherwise
  Buffer dummy;                       // bound to absent optional inputs

  // batched command recording
  VkCommandPool cmd_pool = VK_NULL_HANDLE;
  VkCommandBuffer cmd = VK_NULL_HANDLE;
  VkFence fence = VK_NULL_HANDLE;
  bool recording = false;
  uint32_t batch_dispatches = 0;
  // A batch is submitted in parts of submit_every dispatches (0: whole), so that the GPU starts on
  // the first ops while the host records the rest; the parts' command buffers wait in `submitted`
  // until flush() has waited for the last one, then go back to `spare_cmds`. H100, uce-run end to
  // end at batch 32, against whole batches: 33-layer fp32 31.4 -> 32.1 cells/s, 4-layer fp16
  // 758 -> 799 (parts of 64: 32.1, 766).
  uint32_t submit_every = 16;
  std::vector<VkCommandBuffer> submitted, spare_cmds;

  // descriptors and pipelines
  VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
  VkPipelineLayout pipeline_layout = VK_NULL_HANDLE;
  std::vector<VkDescriptorPool> pools;
  size_t pool_cursor = 0;
  VkPipelineCache pipeline_cache = VK_NULL_HANDLE;
  std::unordered_map<std::string, VkPipeline> pipelines;
  bool pipeline_cache_dirty = false;

  // Chosen LINEAR path ("" = scalar tiled GEMM), and why, for describe().
  std::string coopmat_variant;  // e.g. "16x8x16_acc32"
  std::string coopmat_api;      // "nv" or "khr": which extension the coopmat shaders use (the
                                // shader names carry it: linear_cm_<api>_..., attention_cm_<api>_hd64)
  std::string coopmat_note;
  bool attention_coopmat = false;  // fp16 tensor-core attention (the chosen shape, f32 accumulators)
  // The tensor-core attention keeps its softmax in registers (attention_cmr_*khr_hd64) when the KHR
  // 16x8x16 fragments were probed to have NVIDIA's MMA layout, in one of two A orders (kNone: no).
  MmaAOrder attention_regs = MmaAOrder::kNone;
  // The vectorised coopmat GEMM writes its outputs from registers (linear_cm_khr_vecr_*): same probe.
  bool gemm_regs_epilogue = false;

  uint64_t next_buffer_id = 1;
  // fp16 copies of f32 weights for the coopmat GEMM, ordered by source buffer first (so one
  // buffer's copies are one range: weights_forget_buffer).
  std::map<Fp16CopyKey, Fp16Copy> fp16_weights;
  uint64_t fp16_weight_bytes = 0;
  // fp16 copy of the f32 input of a coopmat LINEAR (x) or tensor-core ATTENTION (qkv), made just
  // before the op; one buffer for all of them, grown to the largest input seen (vk_weights.cpp).
  struct ::uce_buffer* x16 = nullptr;

  // fp32 LINEAR on fp16 tensor cores (fp32 runs that allow cooperative matrices): the GEMM shader
  // ("" = not used), and the hi/lo fp16 splits of its inputs (split_f16x2.comp): weights kept like
  // the fp16 copies, activations in one scratch buffer grown like x16 (vk_weights.cpp).
  std::string split_gemm;
  std::map<Fp16CopyKey, Fp16Copy> split_weights;
  struct ::uce_buffer* x_split = nullptr;

  Profiler* profiler = nullptr;  // UCE_VULKAN_PROFILE only (vk_profile.cpp)
  bool pipeline_stats = false;   // VK_KHR_pipeline_executable_properties enabled (profiling only)

  void log(int level, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
};

// ---- lifetime (vk_context.cpp) -----------------------------------------------------------------
uce_status context_open(const uce_backend_options* options, Context** out, uce_error* err);
void context_close(Context* ctx);
void context_describe(const Context& ctx, char* buf, size_t len);
// Cheap: instance + physical device enumeration only. Score > 0 when a device exists.
int32_t context_probe(char* why, size_t why_len);

// ---- commands (vk_context.cpp) -----------------------------------------------------------------
// Ensures the batch command buffer is recording.
uce_status begin_batch(Context& ctx, uce_error* err);
// Records one dispatch: a barrier against the previous dispatch of the batch, the pipeline, one
// descriptor set of k_bindings storage buffers, push constants. label names it in the profile.
uce_status record_dispatch(Context& ctx, VkPipeline pipeline, const VkDescriptorBufferInfo* infos,
                           const void* push, uint32_t push_bytes, uint32_t gx, uint32_t gy,
                           uint32_t gz, const char* label, uce_error* err);
// Ends, submits and waits for the current batch (no-op when nothing is recorded).
uce_status flush(Context& ctx, uce_error* err);
// Reports a validation error seen in debug mode as UCE_ERR_INTERNAL.
uce_status check_validation(Context& ctx, uce_error* err);

// ---- GPU timestamp profiler (vk_profile.cpp), all no-ops unless UCE_VULKAN_PROFILE is set -------
bool profile_requested();             // UCE_VULKAN_PROFILE is set and not "0"
void profile_init(Context& ctx);      // after the device exists: reads the variable, makes the pool
// Prints the driver's statistics of a new pipeline (ctx.pipeline_stats only).
void profile_pipeline_stats(Context& ctx, VkPipeline pipeline, const std::string& name);
void profile_begin(Context& ctx);     // batch start (command buffer just begun)
void profile_command(Context& ctx, const char* label, uint64_t groups);  // after each command
void profile_submitted(Context& ctx);  // batch submitted
void profile_finished(Context& ctx);   // batch's fence signalled: read and accumulate timestamps
void profile_shutdown(Context& ctx);   // prints the per-label table to stderr, frees the pool

// ---- memory (vk_memory.cpp) --------------------------------------------------------------------
uce_status memory_init(Context& ctx, uce_error* err);
void memory_shutdown(Context& ctx);
uce_status buffer_create(Context& ctx, VkDeviceSize bytes, Buffer& out, uce_error* err);
void buffer_destroy(Context& ctx, Buffer& b);
uce_status buffer_write(Context& ctx, Buffer& b, size_t offset, const void* src, size_t bytes,
                        uce_error* err);
uce_status buffer_read(Context& ctx, Buffer& b, size_t offset, void* dst, size_t bytes,
                       uce_error* err);

// ---- fp16 weight copies (vk_weights.cpp) -------------------------------------------------------
// The fp16 copy of the f32 2-D tensor w, (re)converted in the current batch when missing or stale.
// *out is a contiguous [rows, cols] f16 tensor view of the copy.
uce_status fp16_weight_view(Context& ctx, const uce_tensor* w, uce_tensor* out, uce_error* err);
// An fp16 copy of f32 activations x in the context's scratch (recorded into the batch).
uce_status fp16_activation_view(Context& ctx, const uce_tensor* x, uce_tensor* out, uce_error* err);
// Storage for the split of an f32 [rows, cols] tensor (split_f16x2.comp): hl is the f16
// [2 rows, cols] view of hi then lo rows, scale the f32 [rows] view of the row scales.
struct SplitStorage {
  uce_tensor hl{}, scale{};
};
// The split of weight w, kept across batches. *stale is non-null when the caller must record the
// split into the storage now; it then stores w's buffer generation there once recorded.
uce_status split_weight_storage(Context& ctx, const uce_tensor* w, SplitStorage* out, uint64_t** stale,
                                uce_error* err);
// Scratch storage for the split of activations x (the caller records the split).
uce_status split_activation_storage(Context& ctx, const uce_tensor* x, SplitStorage* out, uce_error* err);
void weights_forget_buffer(Context& ctx, uint64_t buffer_id);  // before a buffer is destroyed
void weights_shutdown(Context& ctx);

// ---- cooperative-matrix fragment layout (vk_coopmat_layout.cpp) ----------------------------------
// Runs probe_shader (coopmat_layout_probe_*) once: the A order when the 16x8 f32 and 16x16 f16
// fragments hold the elements attention_coopmat_regs.comp assumes, else kNone with the differences.
MmaAOrder probe_mma_layout(Context& ctx, const std::string& probe_shader, std::string* why);

// ---- pipelines (vk_pipelines.cpp) --------------------------------------------------------------
uce_status pipelines_init(Context& ctx, uce_error* err);  // layouts + VkPipelineCache (loaded)
void pipelines_shutdown(Context& ctx);                     // saves the cache, destroys all
bool has_shader(const char* name);
// Created on first use, then cached for the context's lifetime.
uce_status get_pipeline(Context& ctx, const std::string& name, VkPipeline* out, uce_error* err);

}  // namespace uce_vk

// The opaque handles of uce_plugin.h, as this plugin defines them.
struct uce_backend {
  uce_vk::Context* ctx;
};
struct uce_buffer {
  uce_vk::Buffer vk;
};
