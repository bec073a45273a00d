// backend.hpp — C++ handle over one opened backend (a uce_backend behind its C function table).
#pragma once

#include <memory>
#include <string>

#include "uce/plugin_loader.hpp"
#include "uce/status.hpp"
#include "uce/uce_plugin.h"

namespace uce {

class Backend {
 public:
  // Open the backend's device. Error = one line naming the plugin and the backend's reason.
  static Result<std::unique_ptr<Backend>> open(const uce_plugin_header* header,
                                               const uce_backend_options& options);
  ~Backend();
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  const std::string& name() const { return name_; }
  std::string describe() const;
  // Capability query on the full op description; `why` receives the reason when unsupported.
  bool supports(const uce_op& op, std::string* why = nullptr) const;

  Result<uce_buffer*> alloc(size_t bytes);
  void free(uce_buffer* buffer);
  void* host_ptr(uce_buffer* buffer) const;  // nullptr if not host memory
  Status write(uce_buffer* buffer, size_t offset, const void* src, size_t bytes);
  Status read(uce_buffer* buffer, size_t offset, void* dst, size_t bytes);
  Status compute(const uce_op& op);
  Status synchronize();
  bool can_wrap_host() const;
  Result<uce_buffer*> wrap_host(void* ptr, size_t bytes);

  const uce_backend_iface& iface() const { return *iface_; }
  uce_backend* raw() const { return backend_; }

 private:
  Backend() = default;
  std::string name_;
  const uce_backend_iface* iface_ = nullptr;
  uce_backend* backend_ = nullptr;
};

}  // namespace uce
