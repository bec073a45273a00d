// torch_file.cpp — torch.save zip archives (formats.md): find `<prefix>/data.pkl`, run the pickle
// VM with storages resolved to `<prefix>/data/<key>` entries of the mapped file (zero copy).
#include <cstring>

#include "io_util.hpp"
#include "pickle_vm.hpp"
#include "uce/io/model_files.hpp"
#include "zip_archive.hpp"

namespace uce::io {
namespace {

using detail::printable;

// Opens `path` and checks it is a zip archive, recognising the pre-1.6 legacy format (a bare
// pickle stream starting with PROTO) to give the actionable message.
Result<std::shared_ptr<MappedFile>> open_archive(const std::string& path) {
  auto file = MappedFile::open(path);
  if (!file) return file;
  const MappedFile& f = *file.value();
  static const uint8_t kZipMagic[4] = {'P', 'K', 3, 4};
  if (f.size() >= 4 && std::memcmp(f.data(), kZipMagic, 4) == 0) return file;
  if (f.size() >= 2 && f.data()[0] == 0x80) {
    return Result<std::shared_ptr<MappedFile>>::error(
        path + ": legacy torch.save format not supported; re-save with torch>=1.6 (expected a zip archive)");
  }
  return Result<std::shared_ptr<MappedFile>>::error(
      path + ": not a torch.save archive (expected zip magic 'PK\\x03\\x04' at byte 0)");
}

// The archive's top folder varies ("archive/", "4layer_model/", ...): it is whatever folder holds
// data.pkl.
Result<std::string> find_prefix(const detail::ZipArchive& zip) {
  std::string prefix;
  int found = 0;
  for (const auto& e : zip.entries) {
    const std::string suffix = "/data.pkl";
    if (e.name.size() > suffix.size() && e.name.compare(e.name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
        e.name.find('/') == e.name.size() - suffix.size()) {
      prefix = e.name.substr(0, e.name.size() - suffix.size());
      ++found;
    }
  }
  if (found == 0) return Result<std::string>::error("no '<archive>/data.pkl' entry (expected a torch.save archive)");
  if (found > 1) return Result<std::string>::error("several '<archive>/data.pkl' entries (expected exactly one)");
  return prefix;
}

Result<PyValue> read_torch_root(const std::string& path) {
  auto opened = open_archive(path);
  if (!opened) return opened.status();
  std::shared_ptr<MappedFile> file = opened.take();
  auto zip_r = detail::parse_zip(file->data(), file->size());
  if (!zip_r) return Result<PyValue>::error(path + ": " + zip_r.message());
  const detail::ZipArchive& zip = zip_r.value();
  auto prefix_r = find_prefix(zip);
  if (!prefix_r) return Result<PyValue>::error(path + ": " + prefix_r.message());
  const std::string prefix = prefix_r.value();

  // Newer torch records the byte order; the storages are read as little-endian.
  if (const auto* bo = zip.find(prefix + "/byteorder")) {
    std::string order(reinterpret_cast<const char*>(file->data() + bo->data_offset), static_cast<size_t>(bo->size));
    if (order != "little") {
      return Result<PyValue>::error(path + ": byteorder is '" + printable(order) + "' (expected 'little')");
    }
  }
  const detail::ZipEntry* pkl = zip.find(prefix + "/data.pkl");

  const uint8_t* base = file->data();
  detail::PersistentLoad load = [&](int32_t dtype, const std::string& key, int64_t numel) -> Result<detail::StorageRef> {
    const std::string name = prefix + "/data/" + key;
    const detail::ZipEntry* e = zip.find(name);
    if (e == nullptr) {
      return Result<detail::StorageRef>::error("storage '" + printable(key) + "' has no entry '" + printable(name) +
                                               "' in the archive (expected one per storage key)");
    }
    uint64_t bytes = 0;
    if (!detail::mul_u64(static_cast<uint64_t>(numel), static_cast<uint64_t>(dtype_size(dtype)), &bytes) ||
        bytes > e->size) {
      return Result<detail::StorageRef>::error("storage '" + printable(key) + "' claims " + std::to_string(numel) + " " +
                                               dtype_name(dtype) + " elements but its entry holds " +
                                               std::to_string(e->size) + " bytes (expected numel * element size <= entry size)");
    }
    detail::StorageRef ref;
    ref.dtype = dtype;
    ref.base = base + e->data_offset;
    ref.numel = numel;
    return ref;
  };
  detail::PickleSource src;
  src.data = base + pkl->data_offset;
  src.size = pkl->size;
  src.file = file;
  src.persistent_load = &load;
  auto root = detail::unpickle(src);
  if (!root) return Result<PyValue>::error(path + ": " + printable(pkl->name) + " " + root.message());
  return root;
}

}  // namespace

Result<PyValue> read_torch_file(const std::string& path) { return read_torch_root(path); }

Result<std::vector<std::pair<std::string, TensorView>>> read_torch_state_dict(const std::string& path) {
  using Out = std::vector<std::pair<std::string, TensorView>>;
  auto root = read_torch_root(path);
  if (!root) return root.status();
  const PyValue& v = root.value();
  if (!v.is_dict()) {
    return Result<Out>::error(path + ": root object is a " + std::string(kind_name(v.kind)) +
                              " (expected a state dict: dict of str -> tensor)");
  }
  Out out;
  out.reserve(v.dict.size());
  for (const auto& [k, t] : v.dict) {
    if (!k.is_str()) return Result<Out>::error(path + ": state dict key is a " + std::string(kind_name(k.kind)) + " (expected str)");
    if (!t.is_tensor()) {
      return Result<Out>::error(path + ": state dict entry '" + printable(k.s) + "' is a " + kind_name(t.kind) +
                                " (expected a tensor)");
    }
    out.emplace_back(k.s, t.tensor);
  }
  return out;
}

Result<TensorView> read_torch_tensor(const std::string& path) {
  auto root = read_torch_root(path);
  if (!root) return root.status();
  if (!root->is_tensor()) {
    return Result<TensorView>::error(path + ": root object is a " + std::string(kind_name(root->kind)) +
                                     " (expected a single tensor)");
  }
  return root->tensor;
}

Result<std::vector<std::string>> read_torch_dict_keys(const std::string& path) {
  auto sd = read_torch_state_dict(path);
  if (!sd) return sd.status();
  std::vector<std::string> keys;
  keys.reserve(sd->size());
  for (auto& kv : sd.value()) keys.push_back(std::move(kv.first));
  return keys;
}

}  // namespace uce::io
