// npy_stage.cpp — uce_stage_npy: a writer-only stage plugin writing the embeddings as a float32
// C-order .npy [n_rows, n_cols] (rows in the order they are appended, i.e. source order).
// Written to `<path>.partial`, renamed to `path` by writer_finish; writer_abort removes it.
// writer_finish and writer_abort both free the writer. No resume (the slot is NULL).
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "../h5ad/stage_boundary.hpp"
#include "npy_writer.hpp"

namespace {

using uce::Status;
using uce::stage::guarded;
namespace fs = std::filesystem;

struct NpyStageWriter {
  std::string path, partial;
  int64_t last_row = -1;
  bool done = false;
  uce::npy::NpyRowWriter npy;
};

NpyStageWriter* as_writer(uce_writer* w) { return reinterpret_cast<NpyStageWriter*>(w); }

uce_status writer_open(const uce_writer_options* options, uce_writer** out, uce_error* err) {
  return guarded(err, UCE_ERR_IO, "npy writer", [&]() -> Status {
    if (!options || !out) return Status::error("npy writer: options and out must not be NULL");
    *out = nullptr;
    const uce_writer_options o = uce::stage::copy_options(options);
    if (!o.path || !*o.path) return Status::error("npy writer: options.path is empty");
    if (o.n_cols <= 0) return Status::error(std::string(o.path) + ": npy writer: n_cols must be > 0");
    auto w = std::make_unique<NpyStageWriter>();
    w->path = o.path;
    w->partial = w->path + ".partial";
    fs::path parent = fs::path(w->path).parent_path();
    const std::string folder = parent.empty() ? "." : parent.string();
    std::error_code ec;
    if (!fs::is_directory(folder, ec))
      return Status::error(w->path + ": output folder " + folder + " does not exist or is not a folder");
    if (access(folder.c_str(), W_OK) != 0)
      return Status::error(w->path + ": output folder " + folder + " is not writable");
    Status st = w->npy.open(w->partial, o.n_cols);
    if (!st) return st;
    *out = reinterpret_cast<uce_writer*>(w.release());
    return Status::ok();
  });
}

uce_status writer_append(uce_writer* writer, const int64_t* source_rows, const float* embeddings,
                         int64_t n_rows, uce_error* err) {
  return guarded(err, UCE_ERR_IO, "npy writer", [&]() -> Status {
    if (!writer) return Status::error("npy writer: writer is NULL");
    NpyStageWriter* w = as_writer(writer);
    if (n_rows < 0 || (n_rows > 0 && !embeddings))
      return Status::error(w->path + ": writer_append needs n_rows >= 0 and embeddings");
    int64_t prev = w->last_row;
    for (int64_t i = 0; source_rows && i < n_rows; ++i) {
      if (source_rows[i] <= prev)
        return Status::error(w->path + ": source rows must arrive in increasing order: row " +
                             std::to_string(source_rows[i]) + " after " + std::to_string(prev));
      prev = source_rows[i];
    }
    Status st = w->npy.append(embeddings, n_rows);
    if (st) w->last_row = prev;
    return st;
  });
}

uce_status writer_finish(uce_writer* writer, uce_error* err) {
  uce_status status = guarded(err, UCE_ERR_IO, "npy writer", [&]() -> Status {
    if (!writer) return Status::error("npy writer: writer is NULL");
    NpyStageWriter* w = as_writer(writer);
    Status st = w->npy.finish();
    if (!st) return st;
    if (std::rename(w->partial.c_str(), w->path.c_str()) != 0)
      return Status::error(w->partial + ": cannot rename to " + w->path + ": " + std::strerror(errno));
    w->done = true;
    return Status::ok();
  });
  delete as_writer(writer);
  return status;
}

void writer_abort(uce_writer* writer) {
  if (!writer) return;
  NpyStageWriter* w = as_writer(writer);
  w->npy.close();
  if (!w->done) std::remove(w->partial.c_str());
  delete w;
}

int32_t probe(char*, size_t) { return 1; }

const uce_stage_iface kIface = {
    sizeof(uce_stage_iface),
    nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,  // no reader half
    writer_open,
    writer_append,
    writer_finish,
    writer_abort,
    ".npy",
    nullptr,  // no resume
    nullptr,  // no obs columns (a writer only)
};

const uce_plugin_header kHeader = {
    sizeof(uce_plugin_header), UCE_ABI_MAJOR, UCE_ABI_MINOR, UCE_PLUGIN_STAGE, "npy", "0.1.0",
    probe, &kIface,
};

}  // namespace

extern "C" UCE_PLUGIN_EXPORT const uce_plugin_header* uce_plugin_entry(void) { return &kHeader; }
