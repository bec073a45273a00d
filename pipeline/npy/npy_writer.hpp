// npy_writer.hpp — a tiny writer of NumPy .npy files (format version 1.0), header-only and
// reusable: magic "\x93NUMPY", version 1.0, little-endian uint16 header length, then an ASCII
// dict {'descr': ..., 'fortran_order': False, 'shape': (...), } padded with spaces and ending
// in '\n' so that the data starts at a multiple of 64 bytes.
//
// NpyRowWriter streams float32 rows of a fixed width (C order) whose count is unknown up front:
// the header is written with room for any row count and rewritten with the real one at finish.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "uce/status.hpp"

namespace uce::npy {

// The full header (magic .. '\n'); padded to `total_size` bytes when that is larger.
inline std::string make_header(const std::string& descr, const std::vector<int64_t>& shape,
                               size_t total_size = 0) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i) dict += std::to_string(shape[i]) + (shape.size() == 1 ? "," : i + 1 < shape.size() ? ", " : "");
  dict += "), }";
  const size_t prefix = 10;  // magic(6) + version(2) + header length(2)
  size_t total = prefix + dict.size() + 1;
  total = (total + 63) / 64 * 64;
  if (total_size > total) total = total_size;
  dict.append(total - prefix - dict.size() - 1, ' ');
  dict += '\n';
  const uint16_t len = static_cast<uint16_t>(dict.size());
  std::string header("\x93NUMPY\x01\x00", 8);
  header += static_cast<char>(len & 0xff);
  header += static_cast<char>(len >> 8);
  return header + dict;
}

class NpyRowWriter {
 public:
  NpyRowWriter() = default;
  NpyRowWriter(const NpyRowWriter&) = delete;
  NpyRowWriter& operator=(const NpyRowWriter&) = delete;
  ~NpyRowWriter() { close(); }

  Status open(const std::string& path, int64_t n_cols) {
    close();
    path_ = path;
    n_cols_ = n_cols;
    rows_ = 0;
    // Room for the largest row count: the final header has the same size.
    header_size_ = make_header("<f4", {INT64_MAX, n_cols}).size();
    file_ = std::fopen(path.c_str(), "wb");
    if (!file_) return Status::error(path + ": cannot create the .npy file");
    const std::string header = make_header("<f4", {0, n_cols}, header_size_);
    if (std::fwrite(header.data(), 1, header.size(), file_) != header.size())
      return Status::error(path + ": cannot write the .npy header");
    return Status::ok();
  }

  Status append(const float* rows, int64_t n_rows) {
    if (!file_) return Status::error(path_ + ": .npy writer is not open");
    const size_t n = static_cast<size_t>(n_rows * n_cols_);
    if (n > 0 && std::fwrite(rows, sizeof(float), n, file_) != n)
      return Status::error(path_ + ": write failed (disk full?)");
    rows_ += n_rows;
    return Status::ok();
  }

  // Rewrites the header with the final row count and closes the file.
  Status finish() {
    if (!file_) return Status::error(path_ + ": .npy writer is not open");
    const std::string header = make_header("<f4", {rows_, n_cols_}, header_size_);
    bool ok = header.size() == header_size_ && std::fseek(file_, 0, SEEK_SET) == 0 &&
              std::fwrite(header.data(), 1, header.size(), file_) == header.size();
    ok = (std::fclose(file_) == 0) && ok;
    file_ = nullptr;
    if (!ok) return Status::error(path_ + ": cannot finish the .npy header");
    return Status::ok();
  }

  void close() {
    if (file_) std::fclose(file_);
    file_ = nullptr;
  }
  int64_t rows() const { return rows_; }

 private:
  std::FILE* file_ = nullptr;
  std::string path_;
  int64_t n_cols_ = 0;
  int64_t rows_ = 0;
  size_t header_size_ = 0;
};

// One-shot: a float32 C-order matrix [rows, cols].
inline Status write_npy_f32(const std::string& path, const float* data, int64_t rows, int64_t cols) {
  NpyRowWriter w;
  Status st = w.open(path, cols);
  if (!st) return st;
  st = w.append(data, rows);
  if (!st) return st;
  return w.finish();
}

}  // namespace uce::npy
