// npy_sentence.hpp — reads the benchmark's sentence.npy: a 1-D little-endian int64 array
// (numpy format version 1.x or 2.x, C order), as written by make_synthetic_model.py.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "uce/status.hpp"

namespace uce::bench {

inline Result<std::vector<int64_t>> read_npy_int64(const std::string& path) {
  using R = Result<std::vector<int64_t>>;
  std::ifstream f(path, std::ios::binary);
  if (!f) return R::error(path + ": cannot open");
  char magic[8];
  if (!f.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0) return R::error(path + ": not a .npy file");
  uint32_t header_len = 0;
  if (magic[6] == 1) {
    unsigned char b[2];
    f.read(reinterpret_cast<char*>(b), 2);
    header_len = b[0] | (b[1] << 8);
  } else {
    unsigned char b[4];
    f.read(reinterpret_cast<char*>(b), 4);
    header_len = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<uint32_t>(b[3]) << 24);
  }
  std::string header(header_len, '\0');
  if (!f.read(header.data(), header_len)) return R::error(path + ": truncated header");
  if (header.find("'<i8'") == std::string::npos) return R::error(path + ": dtype must be '<i8' (int64)");
  if (header.find("'fortran_order': False") == std::string::npos) return R::error(path + ": must be C order");
  const size_t shape_at = header.find("'shape': (");
  if (shape_at == std::string::npos) return R::error(path + ": header has no shape");
  const std::string shape = header.substr(shape_at + 10, header.find(')', shape_at) - shape_at - 10);
  if (shape.find(',') != shape.size() - 1 && shape.find(',') != std::string::npos &&
      shape.find_first_not_of(" ,", shape.find(',')) != std::string::npos)
    return R::error(path + ": shape (" + shape + ") is not 1-D");
  const int64_t n = std::stoll(shape);
  std::vector<int64_t> out(static_cast<size_t>(n));
  if (!f.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(n * 8)))
    return R::error(path + ": truncated data (expected " + std::to_string(n) + " int64 values)");
  return out;
}

}  // namespace uce::bench
