// pickle_file.cpp — plain pickle files (species_offsets.pkl): the same VM, no tensors.
#include <cstring>

#include "pickle_vm.hpp"
#include "uce/io/model_files.hpp"

namespace uce::io {

Result<PyValue> read_pickle_file(const std::string& path) {
  auto file = MappedFile::open(path);
  if (!file) return file.status();
  const MappedFile& f = *file.value();
  if (f.size() >= 4 && std::memcmp(f.data(), "PK\x03\x04", 4) == 0) {
    return Result<PyValue>::error(path + ": is a zip archive, probably torch.save output (expected a plain pickle; "
                                         "read it as a torch file)");
  }
  detail::PickleSource src;
  src.data = f.data();
  src.size = f.size();
  src.file = file.value();
  auto root = detail::unpickle(src);
  if (!root) return Result<PyValue>::error(path + ": pickle " + root.message());
  return root;
}

}  // namespace uce::io
