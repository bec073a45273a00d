// pickle_vm.hpp — a small pickle virtual machine for model files (formats.md): exactly the
// opcodes torch.save's data.pkl (protocol 2) and plain pickles (protocols 2-4) use, and an
// ALLOW-LIST of globals. It builds data; it never calls, imports or executes anything.
// Internal to uce_core.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "uce/io/mapped_file.hpp"
#include "uce/io/py_value.hpp"
#include "uce/status.hpp"

namespace uce::io::detail {

// A storage resolved by the caller (torch: `<prefix>/data/<key>` inside the archive).
struct StorageRef {
  int32_t dtype = 0;
  const uint8_t* base = nullptr;  // inside the mapping
  int64_t numel = 0;              // elements the storage holds (bytes checked by the caller)
};

// Resolves a persistent id ("storage", <StorageClass>, key, location, numel). Errors carry no
// file name or position: the VM adds them.
using PersistentLoad = std::function<Result<StorageRef>(int32_t dtype, const std::string& key, int64_t numel)>;

struct PickleSource {
  const uint8_t* data = nullptr;  // the pickle bytes, inside `file`'s mapping
  uint64_t size = 0;
  std::shared_ptr<MappedFile> file;  // given to every TensorView
  const PersistentLoad* persistent_load = nullptr;  // nullptr: plain pickle, tensors not allowed
};

// Runs the pickle and returns its root value. Errors: "byte N, opcode NAME: what (expected ...)"
// (the caller prefixes file and stream names).
Result<PyValue> unpickle(const PickleSource& source);

}  // namespace uce::io::detail
