// brain_test_support.hpp — shared helpers of the UCE-brain tests: fixture paths, the backends
// that load here, temporary files, and error-message checks.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "npy_read.hpp"
#include "test_backends.hpp"

namespace brain_test {

inline const std::string kDir = UCE_BRAIN_DIR;
inline std::string model_dir(const std::string& name) { return kDir + "/" + name; }

// Opened once per process: the built-in reference + every plugin found (tests/common).
using uce::test::backends;
using uce::test::tolerance;  // normalised error: 1e-10 reference, 1e-6 others

std::string read_text(const std::string& path);
std::vector<char> read_bytes(const std::string& path);

// A fresh directory under the system temp folder, removed with the object.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name, const std::string& contents) const;
  std::string file(const std::string& name, const std::vector<char>& contents) const;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A safetensors file image: header JSON text + data bytes.
std::vector<char> safetensors_image(const std::string& header_json, const std::vector<char>& data);

}  // namespace brain_test
