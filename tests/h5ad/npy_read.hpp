// npy_read.hpp — a minimal independent .npy (v1.0/2.0) reader for the tests: little-endian
// '<f8' or '<f4', C order; returns the values as doubles and the raw header for format checks.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

struct NpyArray {
  std::string descr;
  std::vector<int64_t> shape;
  std::vector<double> values;
  std::string header;     // the dict text including padding and '\n'
  size_t data_offset = 0;  // bytes before the data
  std::string error;
};

inline NpyArray read_npy(const std::string& path) {
  NpyArray a;
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) {
    a.error = "not an npy file";
    return a;
  }
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t hlen = 0, prefix = 0;
  if (major == 1) {
    hlen = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    prefix = 10;
  } else {
    for (int i = 0; i < 4; ++i) hlen |= size_t(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    prefix = 12;
  }
  a.header = bytes.substr(prefix, hlen);
  a.data_offset = prefix + hlen;
  auto field = [&](const std::string& key) {
    size_t p = a.header.find("'" + key + "'");
    if (p == std::string::npos) return std::string();
    p = a.header.find(':', p) + 1;
    while (a.header[p] == ' ') ++p;
    size_t e = a.header[p] == '(' ? a.header.find(')', p) + 1 : a.header.find_first_of(",}", p);
    return a.header.substr(p, e - p);
  };
  a.descr = field("descr");
  if (a.descr.size() >= 2) a.descr = a.descr.substr(1, a.descr.size() - 2);
  if (field("fortran_order") != "False") a.error = "fortran order";
  std::string shape = field("shape");
  for (size_t p = 1; p < shape.size();) {
    size_t e = shape.find_first_of(",)", p);
    std::string num = shape.substr(p, e - p);
    if (num.find_first_not_of(' ') != std::string::npos) a.shape.push_back(std::stoll(num));
    p = e + 1;
  }
  size_t count = 1;
  for (int64_t d : a.shape) count *= static_cast<size_t>(d);
  const size_t elem = a.descr == "<f8" ? 8 : a.descr == "<f4" ? 4 : 0;
  if (elem == 0 || bytes.size() != a.data_offset + count * elem) {
    a.error = "unexpected dtype " + a.descr + " or size";
    return a;
  }
  a.values.resize(count);
  for (size_t i = 0; i < count; ++i) {
    if (elem == 8) {
      std::memcpy(&a.values[i], bytes.data() + a.data_offset + i * 8, 8);
    } else {
      float f;
      std::memcpy(&f, bytes.data() + a.data_offset + i * 4, 4);
      a.values[i] = f;
    }
  }
  return a;
}
