// sentence_npy.cpp — see sentence_npy.hpp.
#include "sentence_npy.hpp"

#include <algorithm>
#include <cstdio>

namespace uce::cli {

std::string SentenceNpyWriter::header(int64_t rows) const {
  // Fixed-size header (128 bytes) so the row count can be rewritten in place.
  std::string dict = "{'descr': '<i8', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", " +
                     std::to_string(width_) + "), }";
  std::string h = std::string("\x93NUMPY\x01\x00", 8);
  const size_t total = 128;
  dict.append(total - 10 - dict.size() - 1, ' ');
  dict += '\n';
  h += static_cast<char>(dict.size() & 0xff);
  h += static_cast<char>((dict.size() >> 8) & 0xff);
  return h + dict;
}

Result<std::unique_ptr<SentenceNpyWriter>> SentenceNpyWriter::open(const std::string& path, int64_t width, int64_t pad) {
  std::unique_ptr<SentenceNpyWriter> w(new SentenceNpyWriter());
  w->path_ = path;
  w->partial_ = path + ".partial";
  w->width_ = width;
  w->pad_ = pad;
  w->file_ = std::fopen(w->partial_.c_str(), "wb");
  if (!w->file_) return Result<std::unique_ptr<SentenceNpyWriter>>::error(path + ": cannot create the sentences file");
  const std::string h = w->header(0);
  if (std::fwrite(h.data(), 1, h.size(), w->file_) != h.size())
    return Result<std::unique_ptr<SentenceNpyWriter>>::error(path + ": cannot write");
  return w;
}

SentenceNpyWriter::~SentenceNpyWriter() {
  if (file_) {
    std::fclose(file_);
    std::remove(partial_.c_str());
  }
}

Status SentenceNpyWriter::append(const std::vector<int64_t>& s) {
  if (static_cast<int64_t>(s.size()) > width_)
    return Status::error(path_ + ": a sentence of " + std::to_string(s.size()) + " tokens exceeds the width " + std::to_string(width_));
  row_.assign(static_cast<size_t>(width_), pad_);
  std::copy(s.begin(), s.end(), row_.begin());
  if (std::fwrite(row_.data(), sizeof(int64_t), row_.size(), file_) != row_.size())
    return Status::error(path_ + ": write failed (disk full?)");
  ++rows_;
  return Status::ok();
}

Status SentenceNpyWriter::finish() {
  const std::string h = header(rows_);
  const bool ok = std::fseek(file_, 0, SEEK_SET) == 0 && std::fwrite(h.data(), 1, h.size(), file_) == h.size();
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!ok || !closed || std::rename(partial_.c_str(), path_.c_str()) != 0)
    return Status::error(path_ + ": cannot finish the sentences file");
  return Status::ok();
}

}  // namespace uce::cli
