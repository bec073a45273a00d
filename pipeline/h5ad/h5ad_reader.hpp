// h5ad_reader.hpp — the reader half of the h5ad stage: counts matrix + gene names + obs names.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "h5ad_dataframe.hpp"
#include "h5ad_matrix.hpp"
#include "uce/uce_stage.h"

namespace uce::h5ad {

constexpr int64_t kDefaultMaxChunkBytes = int64_t{256} << 20;

// Strings packed in one buffer (obs names of an atlas: tens of millions), with stable pointers.
struct StringArena {
  std::vector<char> bytes;
  std::vector<int64_t> offsets;  // start of each NUL-terminated string
  void add(const std::string& s) {
    offsets.push_back(static_cast<int64_t>(bytes.size()));
    bytes.insert(bytes.end(), s.begin(), s.end());
    bytes.push_back('\0');
  }
  const char* at(int64_t i) const { return bytes.data() + offsets[static_cast<size_t>(i)]; }
  int64_t size() const { return static_cast<int64_t>(offsets.size()); }
};

class Reader {
 public:
  static Result<Reader*> open(const uce_reader_options& options);
  ~Reader();

  void info(uce_reader_info* out) const;
  const char* var_name(int64_t var) const;
  const char* obs_name(int64_t obs);  // loads the obs index on first use (bounded pieces)
  Status read_rows(int64_t row_begin, int64_t row_end, uce_csr_chunk* out);
  // reader_obs_strings: the caller's mistakes (unknown column, bad range) ...
  Status check_obs_request(const char* column, int64_t row_begin, int64_t row_end) const;
  // ... and the read itself. *out stays valid until the next call (the texts live in obs_text_).
  Status obs_strings(const char* column, int64_t row_begin, int64_t row_end, const char* const** out);

 private:
  Reader() = default;
  void log(int level, const std::string& line) const;

  std::string path_;
  void (*log_)(void*, int, const char*) = nullptr;
  void* log_user_ = nullptr;
  int64_t max_chunk_bytes_ = kDefaultMaxChunkBytes;
  h5::Hid file_;
  std::vector<CountsMatrix> matrix_;  // exactly one; vector because CountsMatrix has no default
  DataFrame obs_;
  std::string layout_;
  std::string gene_source_;
  StringArena var_names_;
  StringArena obs_names_;
  StringArena obs_text_;                  // the last obs_strings answer
  std::vector<const char*> obs_text_ptrs_;
  bool obs_loaded_ = false;
};

}  // namespace uce::h5ad
