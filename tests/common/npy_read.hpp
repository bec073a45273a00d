// npy_read.hpp — a small .npy (v1/v2) reader for test fixtures written by numpy: little-endian
// f8/f4/i8/i4, C order. Values are returned as doubles with the shape.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace uce::test {

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<double> data;
  int64_t size() const { return static_cast<int64_t>(data.size()); }
};

inline NpyArray read_npy(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open " + path);
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) throw std::runtime_error(path + ": not .npy");
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len, pos;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<size_t>(static_cast<unsigned char>(bytes[9])) << 8);
    pos = 10;
  } else {
    uint32_t n;
    std::memcpy(&n, &bytes[8], 4);
    header_len = n;
    pos = 12;
  }
  const std::string header = bytes.substr(pos, header_len);
  pos += header_len;
  auto field = [&](const std::string& key) {
    const size_t k = header.find("'" + key + "'");
    if (k == std::string::npos) throw std::runtime_error(path + ": header lacks " + key);
    return header.substr(header.find(':', k) + 1);
  };
  const std::string descr = field("descr");
  const std::string dtype = descr.substr(descr.find('\'') + 1, 3);
  if (field("fortran_order").find("False") != 0 && field("fortran_order").find(" False") != 0)
    throw std::runtime_error(path + ": Fortran order not supported");
  NpyArray a;
  std::string shape = field("shape");
  shape = shape.substr(shape.find('(') + 1, shape.find(')') - shape.find('(') - 1);
  size_t i = 0;
  while (i < shape.size()) {
    while (i < shape.size() && (shape[i] == ' ' || shape[i] == ',')) ++i;
    if (i >= shape.size()) break;
    size_t j = i;
    while (j < shape.size() && isdigit(static_cast<unsigned char>(shape[j]))) ++j;
    a.shape.push_back(std::stoll(shape.substr(i, j - i)));
    i = j;
  }
  int64_t n = 1;
  for (auto s : a.shape) n *= s;
  a.data.resize(static_cast<size_t>(n));
  const char* p = bytes.data() + pos;
  for (int64_t k = 0; k < n; ++k) {
    if (dtype == "<f8") { double v; std::memcpy(&v, p + 8 * k, 8); a.data[k] = v; }
    else if (dtype == "<f4") { float v; std::memcpy(&v, p + 4 * k, 4); a.data[k] = v; }
    else if (dtype == "<i8") { int64_t v; std::memcpy(&v, p + 8 * k, 8); a.data[k] = static_cast<double>(v); }
    else if (dtype == "<i4") { int32_t v; std::memcpy(&v, p + 4 * k, 4); a.data[k] = v; }
    else throw std::runtime_error(path + ": dtype " + dtype + " not supported");
  }
  return a;
}

// Normalised error: sum (a-b)^2 / sum b^2, as ggml's test-backend-ops does.
inline double nmse(const double* a, const double* b, size_t n) {
  double num = 0, den = 0;
  for (size_t i = 0; i < n; ++i) {
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += b[i] * b[i];
  }
  return den > 0 ? num / den : num;
}

}  // namespace uce::test
