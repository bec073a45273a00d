// fixtures.hpp — reading tests/fixtures/sentences (JSON via nlohmann, small .npy files).
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace fixtures {

inline std::string path(const std::string& name) { return std::string(UCE_SENTENCE_FIXTURES) + "/" + name; }

inline std::string read_text(const std::string& name) {
  std::ifstream in(path(name), std::ios::binary);
  if (!in) throw std::runtime_error("cannot open fixture " + path(name));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline nlohmann::json read_json(const std::string& name) { return nlohmann::json::parse(read_text(name)); }

// A 1-d little-endian .npy of descr '<i4' or '<f4' (what make_sentence_fixtures.py writes).
template <typename T>
std::vector<T> read_npy(const std::string& name, const char* descr) {
  const std::string bytes = read_text(name);
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) throw std::runtime_error(name + ": not npy");
  const auto major = static_cast<unsigned char>(bytes[6]);
  std::size_t header_len, header_at;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    header_at = 10;
  } else {
    header_len = 0;
    for (int i = 0; i < 4; ++i) header_len |= static_cast<std::size_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    header_at = 12;
  }
  const std::string header = bytes.substr(header_at, header_len);
  if (header.find(std::string("'descr': '") + descr + "'") == std::string::npos ||
      header.find("'fortran_order': False") == std::string::npos) {
    throw std::runtime_error(name + ": unexpected npy header " + header);
  }
  const std::size_t data_at = header_at + header_len;
  std::vector<T> out((bytes.size() - data_at) / sizeof(T));
  std::memcpy(out.data(), bytes.data() + data_at, out.size() * sizeof(T));
  return out;
}

}  // namespace fixtures
