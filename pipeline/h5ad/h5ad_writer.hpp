// h5ad_writer.hpp — the writer half of the h5ad stage.
//
// While embedding, everything goes to `<path>.partial` in the output folder:
//   /obsm/<key>               float32 [rows, n_cols], chunked, extended by every append
//   /uce_partial/source_rows  int64 source row of each stored embedding row
//   /uce_partial attrs        fingerprint (string), rows_committed (int64)
// Each append writes the rows, then rows_committed, then H5Fflush: a killed run leaves a file whose
// first rows_committed rows are complete. writer_resume reopens it when the fingerprint matches.
// writer_finish writes obs/var/uns/X from the source file and the stored row ids, removes
// /uce_partial and renames the file to `path`; the final name is never touched before that.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "h5_handle.hpp"
#include "uce/status.hpp"
#include "uce/uce_stage.h"

namespace uce::h5ad {

class Writer {
 public:
  // resume = true: reopen a matching partial output (else start over like open).
  static Result<Writer*> open(const uce_writer_options& options, bool resume, int64_t* rows_stored,
                              int64_t* next_source_row);
  ~Writer();

  Status append(const int64_t* source_rows, const float* embeddings, int64_t n_rows);
  Status finish();
  void abort();

 private:
  Writer() = default;
  void log(int level, const std::string& line) const;
  Status create_partial();
  Status try_reopen_partial(bool& matched);
  Status write_tables(hid_t source, const std::vector<int64_t>& rows);
  Status write_x(hid_t source, const std::vector<int64_t>& rows);

  std::string path_, partial_, source_path_, counts_, key_, fingerprint_;
  int64_t n_cols_ = 0;
  bool copy_x_ = false;
  std::vector<int64_t> var_rows_;
  std::vector<std::string> uns_keys_, uns_values_;
  void (*log_)(void*, int, const char*) = nullptr;
  void* log_user_ = nullptr;

  h5::Hid file_, embeddings_, source_rows_, meta_;
  int64_t stored_ = 0;
  int64_t last_source_row_ = -1;
  bool done_ = false;
};

}  // namespace uce::h5ad
