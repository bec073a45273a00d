// sentence_npy.hpp — streams cell sentences to an int64 .npy [cells, width], PAD after each
// sentence's end, for parity checks with other implementations. The row count is patched into
// the header at the end; the file is written under a temporary name and renamed when complete.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "uce/status.hpp"

namespace uce::cli {

class SentenceNpyWriter {
 public:
  static Result<std::unique_ptr<SentenceNpyWriter>> open(const std::string& path, int64_t width, int64_t pad);
  ~SentenceNpyWriter();
  Status append(const std::vector<int64_t>& sentence);
  Status finish();

 private:
  std::string header(int64_t rows) const;
  std::string path_, partial_;
  std::FILE* file_ = nullptr;
  int64_t width_ = 0, pad_ = 0, rows_ = 0;
  std::vector<int64_t> row_;
};

}  // namespace uce::cli
