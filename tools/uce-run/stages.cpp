// stages.cpp — stage plugin handles.
#include "stages.hpp"

#include <filesystem>

namespace uce::cli {

Result<const uce_stage_iface*> stage_for_file(const PluginRegistry& registry, const std::string& path, bool reader) {
  const std::string ext = std::filesystem::path(path).extension().string();
  std::string known;
  for (const auto* h : registry.plugins(UCE_PLUGIN_STAGE)) {
    const auto* s = static_cast<const uce_stage_iface*>(h->iface);
    const bool can = reader ? s->reader_open != nullptr : s->writer_open != nullptr;
    if (!can || !s->extensions) continue;
    known += std::string(known.empty() ? "" : ", ") + s->extensions + " (" + h->name + ")";
    const std::string exts = s->extensions;
    size_t pos = 0;
    while (pos <= exts.size()) {
      const size_t end = exts.find_first_of(" ,;", pos);
      if (exts.substr(pos, end == std::string::npos ? std::string::npos : end - pos) == ext) return s;
      if (end == std::string::npos) break;
      pos = end + 1;
    }
  }
  return Result<const uce_stage_iface*>::error(path + ": no " + std::string(reader ? "reader" : "writer") +
                                               " plugin for '" + ext + "' files (available: " +
                                               (known.empty() ? "none loaded" : known) + ")");
}

Result<std::unique_ptr<CellReader>> CellReader::open(const uce_stage_iface* iface, const uce_reader_options& o) {
  std::unique_ptr<CellReader> r(new CellReader());
  r->iface_ = iface;
  r->path_ = o.path;
  uce_error err{};
  if (iface->reader_open(&o, &r->reader_, &err) != UCE_OK)
    return Result<std::unique_ptr<CellReader>>::error(err.message);
  r->info_.struct_size = sizeof(r->info_);
  iface->reader_info(r->reader_, &r->info_);
  return r;
}

CellReader::~CellReader() {
  if (reader_) iface_->reader_close(reader_);
}

std::string CellReader::var_name(int64_t i) const {
  const char* s = iface_->reader_var_name(reader_, i);
  return s ? s : "";
}

std::string CellReader::obs_name(int64_t i) const {
  const char* s = iface_->reader_obs_name(reader_, i);
  return s ? s : "";
}

Result<std::vector<std::string>> CellReader::obs_strings(const std::string& column, int64_t begin, int64_t end) {
  using R = Result<std::vector<std::string>>;
  if (iface_->struct_size <= offsetof(uce_stage_iface, reader_obs_strings) || !iface_->reader_obs_strings)
    return R::error(path_ + ": the reader plugin cannot read obs columns");
  const char* const* values = nullptr;
  uce_error err{};
  if (iface_->reader_obs_strings(reader_, column.c_str(), begin, end, &values, &err) != UCE_OK) return R::error(err.message);
  return std::vector<std::string>(values, values + (end - begin));
}

Result<uce_csr_chunk> CellReader::read(int64_t begin, int64_t end) {
  uce_csr_chunk c{};
  c.struct_size = sizeof(c);
  uce_error err{};
  if (iface_->reader_read_rows(reader_, begin, end, &c, &err) != UCE_OK)
    return Result<uce_csr_chunk>::error(err.message);
  return c;
}

Result<std::unique_ptr<EmbeddingWriter>> EmbeddingWriter::open(const uce_stage_iface* iface, const uce_writer_options& o,
                                                               bool resume, int64_t* rows_stored, int64_t* next_row) {
  std::unique_ptr<EmbeddingWriter> w(new EmbeddingWriter());
  w->iface_ = iface;
  uce_error err{};
  *rows_stored = 0;
  *next_row = 0;
  const bool can_resume = resume && iface->struct_size > offsetof(uce_stage_iface, writer_resume) && iface->writer_resume;
  const uce_status st = can_resume ? iface->writer_resume(&o, &w->writer_, rows_stored, next_row, &err)
                                   : iface->writer_open(&o, &w->writer_, &err);
  if (st != UCE_OK) return Result<std::unique_ptr<EmbeddingWriter>>::error(err.message);
  return w;
}

EmbeddingWriter::~EmbeddingWriter() {
  if (!writer_ || done_) return;
  // Interrupted or failed: the partial file stays for a resume. Writers flush every append, and
  // the stage ABI has no "close without finishing" slot, so the handle is left to process exit.
  if (keep_) return;
  iface_->writer_abort(writer_);
}

Status EmbeddingWriter::append(const std::vector<int64_t>& rows, const float* embeddings) {
  uce_error err{};
  if (iface_->writer_append(writer_, rows.data(), embeddings, static_cast<int64_t>(rows.size()), &err) != UCE_OK)
    return Status::error(err.message);
  return Status::ok();
}

Status EmbeddingWriter::finish() {
  uce_error err{};
  // writer_finish frees the writer whatever its outcome (after a failed finish the partial file
  // stays for a resume), so the handle must not be aborted afterwards.
  const uce_status st = iface_->writer_finish(writer_, &err);
  done_ = true;
  if (st != UCE_OK) return Status::error(err.message);
  return Status::ok();
}

}  // namespace uce::cli
