// plugin_entry.cpp — the C ABI of uce_plugin.h over uce::ocl::Backend. No exception crosses it.
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "backend.hpp"
#include "device_select.hpp"

// The ABI's opaque backend handle, defined by this plugin.
struct uce_backend {
  std::unique_ptr<uce::ocl::Backend> impl;
};

namespace {

using uce::ocl::ClStatus;

void copy_text(char* dst, size_t len, const std::string& text) {
  if (!dst || len == 0) return;
  std::snprintf(dst, len, "%s", text.c_str());
}

uce_status report(const ClStatus& st, uce_error* err) {
  if (!st.ok() && err) copy_text(err->message, UCE_ERROR_MESSAGE_SIZE, st.message);
  return st.code;
}

// Exceptions (std::bad_alloc from std::string, CLBlast internals) become UCE_ERR_INTERNAL.
template <typename F>
uce_status guarded(uce_error* err, const char* what, F&& body) {
  try {
    return report(body(), err);
  } catch (const std::bad_alloc&) {
    return report(ClStatus::fail(UCE_ERR_OUT_OF_MEMORY, std::string("opencl: ") + what +
                                                            ": out of host memory"),
                  err);
  } catch (const std::exception& e) {
    return report(ClStatus::fail(UCE_ERR_INTERNAL, std::string("opencl: ") + what + ": " + e.what()),
                  err);
  } catch (...) {
    return report(ClStatus::fail(UCE_ERR_INTERNAL, std::string("opencl: ") + what + ": unknown exception"),
                  err);
  }
}

int32_t abi_probe(char* why, size_t why_len) {
  try {
    std::vector<uce::ocl::DeviceEntry> all;
    ClStatus st = uce::ocl::list_devices(&all);
    if (!st.ok()) {
      copy_text(why, why_len, st.message);
      return 0;
    }
    bool gpu = false;
    for (const auto& d : all) gpu = gpu || (d.type & (CL_DEVICE_TYPE_GPU | CL_DEVICE_TYPE_ACCELERATOR));
    // A GPU makes this plugin a strong choice; a CPU-only ICD (PoCL) is usable but the BLAS
    // plugin is the faster CPU path, so it scores low.
    copy_text(why, why_len, (gpu ? "opencl: GPU device available: " : "opencl: CPU device only: ") +
                                uce::ocl::describe_devices(all));
    return gpu ? 50 : 5;
  } catch (...) {
    copy_text(why, why_len, "opencl: probe failed (exception)");
    return 0;
  }
}

uce_status abi_open(const uce_backend_options* options, uce_backend** out, uce_error* err) {
  return guarded(err, "open", [&] {
    if (!options || !out || options->struct_size < sizeof(uce_backend_options))
      return ClStatus::fail(UCE_ERR_INVALID_ARGUMENT,
                            "opencl: open: options missing or struct_size too small");
    *out = nullptr;
    std::unique_ptr<uce::ocl::Backend> impl;
    UCE_CL_TRY(uce::ocl::Backend::open(*options, &impl));
    *out = new uce_backend{std::move(impl)};
    return ClStatus::success();
  });
}

void abi_close(uce_backend* backend) {
  try {
    delete backend;
  } catch (...) {
  }
}

void abi_describe(uce_backend* backend, char* buf, size_t len) {
  try {
    copy_text(buf, len, backend ? backend->impl->describe() : std::string("opencl: (null)"));
  } catch (...) {
    copy_text(buf, len, "opencl");
  }
}

int abi_supports_op(uce_backend* backend, const uce_op* op, char* why, size_t why_len) {
  try {
    if (!backend || !op) {
      copy_text(why, why_len, "opencl: supports_op: null backend or op");
      return 0;
    }
    std::string reason;
    if (backend->impl->supports(*op, &reason)) return 1;
    copy_text(why, why_len, reason);
    return 0;
  } catch (...) {
    copy_text(why, why_len, "opencl: supports_op: exception");
    return 0;
  }
}

uce_status abi_buffer_alloc(uce_backend* backend, size_t bytes, uce_buffer** out, uce_error* err) {
  return guarded(err, "buffer_alloc", [&] { return backend->impl->alloc(bytes, out); });
}

void abi_buffer_free(uce_backend* backend, uce_buffer* buffer) {
  if (backend) backend->impl->release(buffer);
}

void* abi_buffer_host_ptr(uce_backend*, uce_buffer*) { return nullptr; }  // device memory

uce_status abi_buffer_write(uce_backend* backend, uce_buffer* buffer, size_t offset, const void* src,
                        size_t bytes, uce_error* err) {
  return guarded(err, "buffer_write",
                 [&] { return backend->impl->write(buffer, offset, src, bytes); });
}

uce_status abi_buffer_read(uce_backend* backend, uce_buffer* buffer, size_t offset, void* dst,
                       size_t bytes, uce_error* err) {
  return guarded(err, "buffer_read", [&] { return backend->impl->read(buffer, offset, dst, bytes); });
}

uce_status abi_compute(uce_backend* backend, const uce_op* op, uce_error* err) {
  return guarded(err, "compute", [&] {
    if (!op) return ClStatus::fail(UCE_ERR_INVALID_ARGUMENT, "opencl: compute: op is NULL");
    return backend->impl->compute(*op);
  });
}

uce_status abi_synchronize(uce_backend* backend, uce_error* err) {
  return guarded(err, "synchronize", [&] { return backend->impl->synchronize(); });
}

const uce_backend_iface kIface = {
    sizeof(uce_backend_iface), abi_open, abi_close, abi_describe, abi_supports_op,
    abi_buffer_alloc, abi_buffer_free, abi_buffer_host_ptr, abi_buffer_write, abi_buffer_read,
    abi_compute, abi_synchronize,
    nullptr,  // buffer_from_host: device memory, no zero-copy wrapping
};

const uce_plugin_header kHeader = {
    sizeof(uce_plugin_header), UCE_ABI_MAJOR, UCE_ABI_MINOR, UCE_PLUGIN_BACKEND, "opencl", "0.1.0",
    abi_probe, &kIface,
};

}  // namespace

extern "C" UCE_PLUGIN_EXPORT const uce_plugin_header* uce_plugin_entry(void) { return &kHeader; }
