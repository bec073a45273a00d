// stages.hpp — C++ handles over the stage plugins (readers and writers behind uce_stage.h).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "uce/plugin_loader.hpp"
#include "uce/status.hpp"
#include "uce/uce_stage.h"

namespace uce::cli {

// The stage plugin whose `extensions` list contains the file's extension.
Result<const uce_stage_iface*> stage_for_file(const PluginRegistry& registry, const std::string& path,
                                              bool reader);

class CellReader {
 public:
  static Result<std::unique_ptr<CellReader>> open(const uce_stage_iface* iface, const uce_reader_options& o);
  ~CellReader();
  const uce_reader_info& info() const { return info_; }
  std::string var_name(int64_t i) const;
  std::string obs_name(int64_t i) const;
  // obs column `column` as text for rows [begin, end); error if the plugin cannot or the column
  // does not exist.
  Result<std::vector<std::string>> obs_strings(const std::string& column, int64_t begin, int64_t end);
  // Rows [begin, end) as CSR; valid until the next call.
  Result<uce_csr_chunk> read(int64_t begin, int64_t end);

 private:
  const uce_stage_iface* iface_ = nullptr;
  uce_reader* reader_ = nullptr;
  uce_reader_info info_{};
  std::string path_;
};

class EmbeddingWriter {
 public:
  // resume: reopen a matching partial output; rows_stored/next_row tell where it stopped.
  static Result<std::unique_ptr<EmbeddingWriter>> open(const uce_stage_iface* iface, const uce_writer_options& o,
                                                       bool resume, int64_t* rows_stored, int64_t* next_row);
  ~EmbeddingWriter();  // aborts (drops the partial file) unless finish() succeeded or keep_partial()
  Status append(const std::vector<int64_t>& rows, const float* embeddings);
  Status finish();
  void keep_partial() { keep_ = true; }  // interrupted: leave the partial output for a resume

 private:
  const uce_stage_iface* iface_ = nullptr;
  uce_writer* writer_ = nullptr;
  bool done_ = false;
  bool keep_ = false;
};

}  // namespace uce::cli
