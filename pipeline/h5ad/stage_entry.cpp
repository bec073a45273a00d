// stage_entry.cpp — uce_plugin_entry of the h5ad stage plugin: the reader and writer halves of
// uce_stage_iface. Every slot takes the plugin-wide HDF5 lock (the library is not thread-safe)
// and catches everything (no exception crosses the C ABI).
//
// Ownership: reader_close frees a reader. writer_finish and writer_abort BOTH free the writer
// (there is no separate close): after a failed finish the partial file stays for a later
// writer_resume; never call writer_abort after writer_finish.
#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "h5_handle.hpp"
#include "h5ad_reader.hpp"
#include "h5ad_writer.hpp"
#include "stage_boundary.hpp"

namespace {

using uce::Status;
using uce::h5ad::Reader;
using uce::h5ad::Writer;
using uce::stage::guarded;

Reader* as_reader(uce_reader* r) { return reinterpret_cast<Reader*>(r); }
Writer* as_writer(uce_writer* w) { return reinterpret_cast<Writer*>(w); }

std::unique_lock<std::mutex> hdf5_lock() {
  std::unique_lock<std::mutex> lock(uce::h5::hdf5_mutex());
  uce::h5::silence_hdf5_errors();
  return lock;
}

uce_status reader_open(const uce_reader_options* options, uce_reader** out, uce_error* err) {
  auto lock = hdf5_lock();
  return guarded(err, UCE_ERR_IO, "h5ad reader", [&]() -> Status {
    if (!options || !out) return Status::error("h5ad reader: options and out must not be NULL");
    *out = nullptr;
    const uce_reader_options o = uce::stage::copy_options(options);
    auto reader = Reader::open(o);
    if (!reader) return reader.status();
    *out = reinterpret_cast<uce_reader*>(reader.value());
    return Status::ok();
  });
}

void reader_info(uce_reader* reader, uce_reader_info* out) {
  if (!reader || !out) return;
  auto lock = hdf5_lock();
  uce_reader_info info{};
  as_reader(reader)->info(&info);
  const size_t n = std::min<size_t>(out->struct_size ? out->struct_size : sizeof(info), sizeof(info));
  info.struct_size = out->struct_size ? out->struct_size : sizeof(info);
  std::memcpy(out, &info, n);
}

const char* reader_var_name(uce_reader* reader, int64_t var) {
  if (!reader) return nullptr;
  auto lock = hdf5_lock();
  return as_reader(reader)->var_name(var);
}

const char* reader_obs_name(uce_reader* reader, int64_t obs) {
  if (!reader) return nullptr;
  auto lock = hdf5_lock();
  try {
    return as_reader(reader)->obs_name(obs);
  } catch (...) {
    return nullptr;
  }
}

uce_status reader_read_rows(uce_reader* reader, int64_t row_begin, int64_t row_end,
                            uce_csr_chunk* out, uce_error* err) {
  auto lock = hdf5_lock();
  return guarded(err, UCE_ERR_IO, "h5ad reader", [&]() -> Status {
    if (!reader || !out) return Status::error("h5ad reader: reader and out must not be NULL");
    uce_csr_chunk chunk{};
    Status st = as_reader(reader)->read_rows(row_begin, row_end, &chunk);
    if (!st) return st;
    const uint32_t size = out->struct_size ? out->struct_size : sizeof(chunk);
    chunk.struct_size = size;
    std::memcpy(out, &chunk, std::min<size_t>(size, sizeof(chunk)));
    return Status::ok();
  });
}

uce_status reader_obs_strings(uce_reader* reader, const char* column, int64_t row_begin,
                              int64_t row_end, const char* const** out, uce_error* err) {
  auto lock = hdf5_lock();
  // The caller's mistakes (NULLs, unknown column, bad range) are INVALID_ARGUMENT, the rest IO.
  uce_status status = guarded(err, UCE_ERR_INVALID_ARGUMENT, "h5ad reader", [&]() -> Status {
    if (!reader || !out) return Status::error("h5ad reader: reader and out must not be NULL");
    *out = nullptr;
    return as_reader(reader)->check_obs_request(column, row_begin, row_end);
  });
  if (status != UCE_OK) return status;
  return guarded(err, UCE_ERR_IO, "h5ad reader", [&]() -> Status {
    return as_reader(reader)->obs_strings(column, row_begin, row_end, out);
  });
}

void reader_close(uce_reader* reader) {
  auto lock = hdf5_lock();
  delete as_reader(reader);
}

uce_status open_writer(const uce_writer_options* options, uce_writer** out, bool resume,
                       int64_t* rows_stored, int64_t* next_source_row, uce_error* err) {
  auto lock = hdf5_lock();
  return guarded(err, UCE_ERR_IO, "h5ad writer", [&]() -> Status {
    if (!options || !out) return Status::error("h5ad writer: options and out must not be NULL");
    *out = nullptr;
    const uce_writer_options o = uce::stage::copy_options(options);
    auto writer = Writer::open(o, resume, rows_stored, next_source_row);
    if (!writer) return writer.status();
    *out = reinterpret_cast<uce_writer*>(writer.value());
    return Status::ok();
  });
}

uce_status writer_open(const uce_writer_options* options, uce_writer** out, uce_error* err) {
  return open_writer(options, out, false, nullptr, nullptr, err);
}

uce_status writer_resume(const uce_writer_options* options, uce_writer** out, int64_t* rows_stored,
                         int64_t* next_source_row, uce_error* err) {
  return open_writer(options, out, true, rows_stored, next_source_row, err);
}

uce_status writer_append(uce_writer* writer, const int64_t* source_rows, const float* embeddings,
                         int64_t n_rows, uce_error* err) {
  auto lock = hdf5_lock();
  return guarded(err, UCE_ERR_IO, "h5ad writer", [&]() -> Status {
    if (!writer) return Status::error("h5ad writer: writer is NULL");
    return as_writer(writer)->append(source_rows, embeddings, n_rows);
  });
}

uce_status writer_finish(uce_writer* writer, uce_error* err) {
  auto lock = hdf5_lock();
  uce_status status = guarded(err, UCE_ERR_IO, "h5ad writer", [&]() -> Status {
    if (!writer) return Status::error("h5ad writer: writer is NULL");
    return as_writer(writer)->finish();
  });
  delete as_writer(writer);  // closes the partial file (kept on failure, for a resume)
  return status;
}

void writer_abort(uce_writer* writer) {
  if (!writer) return;
  auto lock = hdf5_lock();
  try {
    as_writer(writer)->abort();
  } catch (...) {
  }
  delete as_writer(writer);
}

int32_t probe(char* why, size_t why_len) {
  unsigned major = 0, minor = 0, release = 0;
  if (H5get_libversion(&major, &minor, &release) < 0) {
    if (why && why_len) std::snprintf(why, why_len, "libhdf5 not usable");
    return 0;
  }
  return 1;
}

const uce_stage_iface kIface = {
    sizeof(uce_stage_iface),
    reader_open,
    reader_info,
    reader_var_name,
    reader_obs_name,
    reader_read_rows,
    reader_close,
    writer_open,
    writer_append,
    writer_finish,
    writer_abort,
    ".h5ad",
    writer_resume,
    reader_obs_strings,
};

const uce_plugin_header kHeader = {
    sizeof(uce_plugin_header), UCE_ABI_MAJOR, UCE_ABI_MINOR, UCE_PLUGIN_STAGE, "h5ad", "0.1.0",
    probe, &kIface,
};

}  // namespace

extern "C" UCE_PLUGIN_EXPORT const uce_plugin_header* uce_plugin_entry(void) { return &kHeader; }
