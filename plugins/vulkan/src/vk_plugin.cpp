// vk_plugin.cpp — the exported entry point and the C function table of the Vulkan backend.
// Nothing here throws across the boundary: allocation failures become UCE_ERR_OUT_OF_MEMORY.
#include <new>

#include "vk_context.hpp"
#include "vk_ops.hpp"

namespace {

using uce_vk::fail;

uce_status vk_open(const uce_backend_options* options, uce_backend** out, uce_error* err) {
  if (!out) return fail(err, UCE_ERR_INVALID_ARGUMENT, "vulkan: open() needs an output pointer");
  *out = nullptr;
  try {
    uce_vk::Context* ctx = nullptr;
    uce_status st = uce_vk::context_open(options, &ctx, err);
    if (st != UCE_OK) return st;
    auto* be = new uce_backend{ctx};
    *out = be;
    return UCE_OK;
  } catch (const std::bad_alloc&) {
    return fail(err, UCE_ERR_OUT_OF_MEMORY, "vulkan: out of host memory in open()");
  } catch (...) {
    return fail(err, UCE_ERR_INTERNAL, "vulkan: unexpected exception in open()");
  }
}

void vk_close(uce_backend* be) {
  if (!be) return;
  uce_vk::context_close(be->ctx);
  delete be;
}

void vk_describe(uce_backend* be, char* buf, size_t len) {
  if (be) uce_vk::context_describe(*be->ctx, buf, len);
}

int vk_supports_op(uce_backend* be, const uce_op* op, char* why, size_t why_len) {
  if (!be) return 0;
  try {
    return uce_vk::ops_supports(*be->ctx, op, why, why_len);
  } catch (...) {
    return 0;
  }
}

uce_status vk_buffer_alloc(uce_backend* be, size_t bytes, uce_buffer** out, uce_error* err) {
  if (!be || !out) return fail(err, UCE_ERR_INVALID_ARGUMENT, "vulkan: buffer_alloc needs a backend and an output pointer");
  *out = nullptr;
  auto* buf = new (std::nothrow) uce_buffer{};
  if (!buf) return fail(err, UCE_ERR_OUT_OF_MEMORY, "vulkan: out of host memory");
  uce_status st = uce_vk::buffer_create(*be->ctx, bytes, buf->vk, err);
  if (st != UCE_OK) {
    delete buf;
    return st;
  }
  *out = buf;
  return UCE_OK;
}

void vk_buffer_free(uce_backend* be, uce_buffer* buf) {
  if (!be || !buf) return;
  // A pending batch may still reference the buffer: finish it first.
  uce_error ignored;
  uce_vk::flush(*be->ctx, &ignored);
  uce_vk::weights_forget_buffer(*be->ctx, buf->vk.id);
  uce_vk::buffer_destroy(*be->ctx, buf->vk);
  delete buf;
}

// Device memory is not handed out as host memory, even where it is mapped (lavapipe): all host
// access goes through buffer_write/buffer_read, which order themselves after pending work.
void* vk_buffer_host_ptr(uce_backend*, uce_buffer*) { return nullptr; }

uce_status vk_buffer_write(uce_backend* be, uce_buffer* buf, size_t offset, const void* src, size_t bytes, uce_error* err) {
  if (!be || !buf || (!src && bytes)) return fail(err, UCE_ERR_INVALID_ARGUMENT, "vulkan: buffer_write with a NULL argument");
  try {
    return uce_vk::buffer_write(*be->ctx, buf->vk, offset, src, bytes, err);
  } catch (...) {
    return fail(err, UCE_ERR_INTERNAL, "vulkan: unexpected exception in buffer_write()");
  }
}

uce_status vk_buffer_read(uce_backend* be, uce_buffer* buf, size_t offset, void* dst, size_t bytes, uce_error* err) {
  if (!be || !buf || (!dst && bytes)) return fail(err, UCE_ERR_INVALID_ARGUMENT, "vulkan: buffer_read with a NULL argument");
  try {
    return uce_vk::buffer_read(*be->ctx, buf->vk, offset, dst, bytes, err);
  } catch (...) {
    return fail(err, UCE_ERR_INTERNAL, "vulkan: unexpected exception in buffer_read()");
  }
}

uce_status vk_compute(uce_backend* be, const uce_op* op, uce_error* err) {
  if (!be) return fail(err, UCE_ERR_INVALID_ARGUMENT, "vulkan: compute without a backend");
  try {
    return uce_vk::ops_compute(*be->ctx, op, err);
  } catch (const std::bad_alloc&) {
    return fail(err, UCE_ERR_OUT_OF_MEMORY, "vulkan: out of host memory in compute()");
  } catch (...) {
    return fail(err, UCE_ERR_INTERNAL, "vulkan: unexpected exception in compute()");
  }
}

uce_status vk_synchronize(uce_backend* be, uce_error* err) {
  if (!be) return fail(err, UCE_ERR_INVALID_ARGUMENT, "vulkan: synchronize without a backend");
  return uce_vk::flush(*be->ctx, err);
}

int32_t vk_probe(char* why, size_t why_len) {
  try {
    return uce_vk::context_probe(why, why_len);
  } catch (...) {
    return 0;
  }
}

const uce_backend_iface k_iface = {
    sizeof(uce_backend_iface),
    vk_open,
    vk_close,
    vk_describe,
    vk_supports_op,
    vk_buffer_alloc,
    vk_buffer_free,
    vk_buffer_host_ptr,
    vk_buffer_write,
    vk_buffer_read,
    vk_compute,
    vk_synchronize,
    nullptr,  // buffer_from_host: not provided
};

const uce_plugin_header k_header = {
    sizeof(uce_plugin_header), UCE_ABI_MAJOR, UCE_ABI_MINOR, UCE_PLUGIN_BACKEND, "vulkan", "0.1.0", vk_probe, &k_iface,
};

}  // namespace

extern "C" UCE_PLUGIN_EXPORT const uce_plugin_header* uce_plugin_entry(void) { return &k_header; }
