// zip_archive.hpp — the minimal ZIP reader torch.save archives need: EOCD (+ ZIP64), central
// directory, local headers, STORED entries only. Internal to uce_core.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "uce/status.hpp"

namespace uce::io::detail {

struct ZipEntry {
  std::string name;
  uint64_t data_offset = 0;  // of the entry's bytes in the file (after its local header)
  uint64_t size = 0;         // stored == uncompressed size
};

struct ZipArchive {
  std::vector<ZipEntry> entries;  // central directory order
  std::unordered_map<std::string, size_t> by_name;
  const ZipEntry* find(const std::string& name) const {
    auto it = by_name.find(name);
    return it == by_name.end() ? nullptr : &entries[it->second];
  }
};

// Parses the archive held in [data, data + size). Every offset and size is checked against
// `size` before use. Errors carry no file name (the caller prefixes it).
Result<ZipArchive> parse_zip(const uint8_t* data, uint64_t size);

}  // namespace uce::io::detail
