// vk_memory.cpp — device buffers and host transfers.
// On devices whose device-local memory is host-visible and coherent and that are not discrete
// GPUs (lavapipe, integrated GPUs), buffers are mapped once and written/read by memcpy. Otherwise
// (discrete GPUs) they live in device-local memory and transfers go through a host-visible
// staging buffer in chunks. Either way a transfer first completes the pending batch, so it is
// ordered after every op recorded before it.
#include <algorithm>
#include <cstring>

#include "vk_context.hpp"

namespace uce_vk {
namespace {

constexpr VkDeviceSize k_staging_bytes = 32ull << 20;

int find_memory_type(const Context& ctx, uint32_t type_bits, VkMemoryPropertyFlags want,
                     VkMemoryPropertyFlags avoid = 0) {
  for (uint32_t i = 0; i < ctx.mem_props.memoryTypeCount; ++i) {
    const VkMemoryPropertyFlags f = ctx.mem_props.memoryTypes[i].propertyFlags;
    if ((type_bits & (1u << i)) && (f & want) == want && (f & avoid) == 0) return static_cast<int>(i);
  }
  return -1;
}

uce_status create_raw(Context& ctx, VkDeviceSize bytes, bool staging, Buffer& out, uce_error* err) {
  out = Buffer{};
  const VkDeviceSize alloc = std::max<VkDeviceSize>((bytes + 15) & ~VkDeviceSize(15), 16);
  if (ctx.caps.max_alloc && alloc > ctx.caps.max_alloc)
    return fail(err, UCE_ERR_OUT_OF_MEMORY, "vulkan: buffer of %llu bytes exceeds maxMemoryAllocationSize %llu of '%s'",
                static_cast<unsigned long long>(bytes), static_cast<unsigned long long>(ctx.caps.max_alloc),
                ctx.caps.device_name.c_str());
  VkBufferCreateInfo bci{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bci.size = alloc;
  bci.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  VkResult r = vkCreateBuffer(ctx.device, &bci, nullptr, &out.buffer);
  if (r != VK_SUCCESS) return fail(err, UCE_ERR_OUT_OF_MEMORY, "vulkan: vkCreateBuffer(%llu bytes) failed: %s",
                                   static_cast<unsigned long long>(alloc), vk_result_name(r));
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(ctx.device, out.buffer, &req);
  const VkMemoryPropertyFlags hv = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  int type = -1;
  bool map = false;
  if (staging) {
    type = find_memory_type(ctx, req.memoryTypeBits, hv | VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
    if (type < 0) type = find_memory_type(ctx, req.memoryTypeBits, hv);
    map = true;
  } else if (ctx.device_memory_mapped) {
    type = find_memory_type(ctx, req.memoryTypeBits, hv | VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    map = true;
  } else {
    type = find_memory_type(ctx, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT);
    if (type < 0) type = find_memory_type(ctx, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
  }
  if (type < 0) {
    vkDestroyBuffer(ctx.device, out.buffer, nullptr);
    out.buffer = VK_NULL_HANDLE;
    return fail(err, UCE_ERR_DEVICE, "vulkan: no suitable memory type for a %s buffer", staging ? "staging" : "device");
  }
  VkMemoryAllocateInfo mai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  mai.allocationSize = req.size;
  mai.memoryTypeIndex = static_cast<uint32_t>(type);
  r = vkAllocateMemory(ctx.device, &mai, nullptr, &out.memory);
  if (r != VK_SUCCESS) {
    vkDestroyBuffer(ctx.device, out.buffer, nullptr);
    out.buffer = VK_NULL_HANDLE;
    return fail(err, UCE_ERR_OUT_OF_MEMORY, "vulkan: vkAllocateMemory(%llu bytes) failed: %s",
                static_cast<unsigned long long>(req.size), vk_result_name(r));
  }
  vkBindBufferMemory(ctx.device, out.buffer, out.memory, 0);
  if (map) {
    r = vkMapMemory(ctx.device, out.memory, 0, VK_WHOLE_SIZE, 0, &out.mapped);
    if (r != VK_SUCCESS) {
      buffer_destroy(ctx, out);
      return fail(err, UCE_ERR_DEVICE, "vulkan: vkMapMemory failed: %s", vk_result_name(r));
    }
  }
  out.size = bytes;
  out.alloc = alloc;
  out.id = ctx.next_buffer_id++;
  return UCE_OK;
}

uce_status ensure_staging(Context& ctx, uce_error* err) {
  if (ctx.staging.buffer) return UCE_OK;
  return create_raw(ctx, k_staging_bytes, true, ctx.staging, err);
}

// Copies between a device buffer and the staging buffer, one submission per chunk.
uce_status staged_copy(Context& ctx, Buffer& b, size_t offset, size_t bytes, bool to_device, uce_error* err) {
  uce_status st = begin_batch(ctx, err);
  if (st != UCE_OK) return st;
  VkBufferCopy region{};
  region.srcOffset = to_device ? 0 : offset;
  region.dstOffset = to_device ? offset : 0;
  region.size = bytes;
  if (to_device) vkCmdCopyBuffer(ctx.cmd, ctx.staging.buffer, b.buffer, 1, &region);
  else vkCmdCopyBuffer(ctx.cmd, b.buffer, ctx.staging.buffer, 1, &region);
  profile_command(ctx, to_device ? "transfer host->device" : "transfer device->host", 0);
  return flush(ctx, err);
}

uce_status check_range(const Buffer& b, size_t offset, size_t bytes, const char* what, uce_error* err) {
  if (offset > b.size || bytes > b.size - offset)
    return fail(err, UCE_ERR_INVALID_ARGUMENT, "vulkan: %s of %zu bytes at offset %zu overruns the buffer of %llu bytes",
                what, bytes, offset, static_cast<unsigned long long>(b.size));
  return UCE_OK;
}

}  // namespace

uce_status memory_init(Context& ctx, uce_error* err) {
  vkGetPhysicalDeviceMemoryProperties(ctx.phys, &ctx.mem_props);
  const VkMemoryPropertyFlags all = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                    VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  bool unified = false;
  for (uint32_t i = 0; i < ctx.mem_props.memoryTypeCount; ++i)
    if ((ctx.mem_props.memoryTypes[i].propertyFlags & all) == all) unified = true;
  // A discrete GPU's host-visible VRAM (resizable BAR) is slow to read back: stage there.
  ctx.device_memory_mapped = unified && ctx.caps.device_type != VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU;
  uce_status st = create_raw(ctx, 256, false, ctx.dummy, err);
  if (st != UCE_OK) return st;
  return UCE_OK;
}

void memory_shutdown(Context& ctx) {
  buffer_destroy(ctx, ctx.staging);
  buffer_destroy(ctx, ctx.dummy);
}

uce_status buffer_create(Context& ctx, VkDeviceSize bytes, Buffer& out, uce_error* err) {
  return create_raw(ctx, bytes, false, out, err);
}

void buffer_destroy(Context& ctx, Buffer& b) {
  if (b.mapped) vkUnmapMemory(ctx.device, b.memory);
  if (b.buffer) vkDestroyBuffer(ctx.device, b.buffer, nullptr);
  if (b.memory) vkFreeMemory(ctx.device, b.memory, nullptr);
  b = Buffer{};
}

uce_status buffer_write(Context& ctx, Buffer& b, size_t offset, const void* src, size_t bytes, uce_error* err) {
  uce_status st = check_range(b, offset, bytes, "buffer_write", err);
  if (st == UCE_OK) st = flush(ctx, err);
  if (st != UCE_OK || bytes == 0) return st;
  ++b.generation;
  if (b.mapped) {
    std::memcpy(static_cast<char*>(b.mapped) + offset, src, bytes);
    return UCE_OK;
  }
  if ((st = ensure_staging(ctx, err)) != UCE_OK) return st;
  for (size_t done = 0; done < bytes;) {
    const size_t chunk = std::min<size_t>(bytes - done, k_staging_bytes);
    std::memcpy(ctx.staging.mapped, static_cast<const char*>(src) + done, chunk);
    if ((st = staged_copy(ctx, b, offset + done, chunk, true, err)) != UCE_OK) return st;
    done += chunk;
  }
  return UCE_OK;
}

uce_status buffer_read(Context& ctx, Buffer& b, size_t offset, void* dst, size_t bytes, uce_error* err) {
  uce_status st = check_range(b, offset, bytes, "buffer_read", err);
  if (st == UCE_OK) st = flush(ctx, err);
  if (st != UCE_OK || bytes == 0) return st;
  if (b.mapped) {
    std::memcpy(dst, static_cast<const char*>(b.mapped) + offset, bytes);
    return UCE_OK;
  }
  if ((st = ensure_staging(ctx, err)) != UCE_OK) return st;
  for (size_t done = 0; done < bytes;) {
    const size_t chunk = std::min<size_t>(bytes - done, k_staging_bytes);
    if ((st = staged_copy(ctx, b, offset + done, chunk, false, err)) != UCE_OK) return st;
    std::memcpy(static_cast<char*>(dst) + done, ctx.staging.mapped, chunk);
    done += chunk;
  }
  return UCE_OK;
}

}  // namespace uce_vk
