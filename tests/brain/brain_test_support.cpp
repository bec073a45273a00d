// brain_test_support.cpp — see brain_test_support.hpp.
#include "brain_test_support.hpp"

#include <atomic>
#include <cstring>
#include <fstream>
#include <iterator>
#include <unistd.h>

namespace brain_test {

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<char>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  path_ = std::filesystem::temp_directory_path() /
          ("uce_brain_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::file(const std::string& name, const std::string& contents) const {
  return file(name, std::vector<char>(contents.begin(), contents.end()));
}

std::string TempDir::file(const std::string& name, const std::vector<char>& contents) const {
  const std::string p = (path_ / name).string();
  std::ofstream f(p, std::ios::binary);
  f.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  return p;
}

std::vector<char> safetensors_image(const std::string& header_json, const std::vector<char>& data) {
  const uint64_t n = header_json.size();
  std::string bytes;
  for (int i = 0; i < 8; ++i) bytes += static_cast<char>((n >> (8 * i)) & 0xff);
  bytes += header_json;
  bytes.append(data.data(), data.size());
  return std::vector<char>(bytes.begin(), bytes.end());
}

}  // namespace brain_test
