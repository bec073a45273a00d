// backend.cpp — the C++ handle over a backend's C function table.
#include "uce/backend.hpp"

namespace uce {

Result<std::unique_ptr<Backend>> Backend::open(const uce_plugin_header* header,
                                               const uce_backend_options& options) {
  if (!header || header->kind != UCE_PLUGIN_BACKEND)
    return Result<std::unique_ptr<Backend>>::error("not a backend plugin");
  std::unique_ptr<Backend> b(new Backend());
  b->name_ = header->name;
  b->iface_ = static_cast<const uce_backend_iface*>(header->iface);
  uce_error err{};
  const uce_status st = b->iface_->open(&options, &b->backend_, &err);
  if (st != UCE_OK || !b->backend_) {
    b->backend_ = nullptr;
    return Result<std::unique_ptr<Backend>>::error(
        "backend '" + b->name_ + "' failed to open its device: " +
        (err.message[0] ? std::string(err.message) : "status " + std::to_string(st)));
  }
  return b;
}

Backend::~Backend() {
  if (backend_) iface_->close(backend_);
}

std::string Backend::describe() const {
  char buf[1024] = "";
  if (iface_->describe) iface_->describe(backend_, buf, sizeof(buf));
  return buf[0] ? std::string(buf) : name_;
}

bool Backend::supports(const uce_op& op, std::string* why) const {
  char buf[512] = "";
  const int ok = iface_->supports_op(backend_, &op, buf, sizeof(buf));
  if (!ok && why) *why = buf[0] ? buf : "not supported";
  return ok != 0;
}

static Status status_of(const std::string& who, uce_status st, const uce_error& err) {
  if (st == UCE_OK) return Status::ok();
  return Status::error(who + ": " + (err.message[0] ? std::string(err.message)
                                                     : "status " + std::to_string(st)));
}

Result<uce_buffer*> Backend::alloc(size_t bytes) {
  uce_error err{};
  uce_buffer* buf = nullptr;
  if (Status s = status_of(name_ + " alloc " + std::to_string(bytes) + " bytes",
                           iface_->buffer_alloc(backend_, bytes, &buf, &err), err);
      !s)
    return s;
  return buf;
}

void Backend::free(uce_buffer* buffer) {
  if (buffer) iface_->buffer_free(backend_, buffer);
}

void* Backend::host_ptr(uce_buffer* buffer) const {
  return iface_->buffer_host_ptr ? iface_->buffer_host_ptr(backend_, buffer) : nullptr;
}

Status Backend::write(uce_buffer* buffer, size_t offset, const void* src, size_t bytes) {
  uce_error err{};
  return status_of(name_ + " write", iface_->buffer_write(backend_, buffer, offset, src, bytes, &err), err);
}

Status Backend::read(uce_buffer* buffer, size_t offset, void* dst, size_t bytes) {
  uce_error err{};
  return status_of(name_ + " read", iface_->buffer_read(backend_, buffer, offset, dst, bytes, &err), err);
}

Status Backend::compute(const uce_op& op) {
  uce_error err{};
  return status_of(name_ + " " + (op.name ? op.name : "op"), iface_->compute(backend_, &op, &err), err);
}

Status Backend::synchronize() {
  uce_error err{};
  return status_of(name_ + " synchronize", iface_->synchronize(backend_, &err), err);
}

bool Backend::can_wrap_host() const { return iface_->struct_size > offsetof(uce_backend_iface, buffer_from_host) && iface_->buffer_from_host; }

Result<uce_buffer*> Backend::wrap_host(void* ptr, size_t bytes) {
  if (!can_wrap_host()) return Result<uce_buffer*>::error(name_ + ": cannot wrap host memory");
  uce_error err{};
  uce_buffer* buf = nullptr;
  if (Status s = status_of(name_ + " wrap host", iface_->buffer_from_host(backend_, ptr, bytes, &buf, &err), err); !s)
    return s;
  return buf;
}

}  // namespace uce
