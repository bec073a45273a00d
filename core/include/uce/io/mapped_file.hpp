// mapped_file.hpp — a read-only memory mapping of a whole file (formats.md: model files are
// mapped, never read into RAM, so a 3 GB token table costs only the pages actually used).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "uce/status.hpp"

namespace uce::io {

class MappedFile {
 public:
  // Maps `path` read-only. An empty file maps to data() == nullptr, size() == 0.
  static Result<std::shared_ptr<MappedFile>> open(const std::string& path);

  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile(std::string path, const uint8_t* data, size_t size)
      : path_(std::move(path)), data_(data), size_(size) {}
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace uce::io
