#include "h5ad_writer.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "h5_read.hpp"
#include "h5_write.hpp"
#include "h5ad_dataframe.hpp"
#include "h5ad_dataframe_copy.hpp"
#include "h5ad_matrix.hpp"

namespace uce::h5ad {
namespace {

using h5::Hid;
namespace fs = std::filesystem;

constexpr const char* kMetaGroup = "uce_partial";
constexpr const char* kSourceRows = "uce_partial/source_rows";

// An empty 1-D (or [0, cols] 2-D) dataset of `type`, extendable along rows.
Result<Hid> create_extendable(hid_t loc, const std::string& name, hid_t type, hsize_t cols,
                              hsize_t chunk_rows) {
  const int rank = cols > 0 ? 2 : 1;
  hsize_t dims[2] = {0, cols};
  hsize_t maxdims[2] = {H5S_UNLIMITED, cols};
  hsize_t chunk[2] = {chunk_rows, cols};
  Hid space(H5Screate_simple(rank, dims, maxdims));
  Hid dcpl(H5Pcreate(H5P_DATASET_CREATE));
  H5Pset_chunk(dcpl.get(), rank, chunk);
  Hid dset(H5Dcreate2(loc, name.c_str(), type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT));
  if (!dset) return Result<Hid>::error("cannot create dataset " + name);
  return dset;
}

// Writes n rows at row `at` of an extendable dataset (1-D, or 2-D with `cols` columns).
Status write_at(hid_t dset, hid_t memtype, int64_t at, int64_t n, hsize_t cols, const void* data,
                const std::string& what) {
  const int rank = cols > 0 ? 2 : 1;
  hsize_t new_dims[2] = {static_cast<hsize_t>(at + n), cols};
  if (H5Dset_extent(dset, new_dims) < 0) return Status::error(what + ": cannot extend");
  if (n == 0) return Status::ok();
  Hid file_space(H5Dget_space(dset));
  hsize_t start[2] = {static_cast<hsize_t>(at), 0};
  hsize_t count[2] = {static_cast<hsize_t>(n), cols};
  H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr);
  Hid mem_space(H5Screate_simple(rank, count, nullptr));
  if (H5Dwrite(dset, memtype, mem_space.get(), file_space.get(), H5P_DEFAULT, data) < 0)
    return Status::error(what + ": write failed (disk full?)");
  return Status::ok();
}

std::string folder_of(const std::string& path) {
  fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

}  // namespace

Writer::~Writer() = default;

void Writer::log(int level, const std::string& line) const {
  if (log_) log_(log_user_, level, line.c_str());
}

Result<Writer*> Writer::open(const uce_writer_options& o, bool resume, int64_t* rows_stored,
                             int64_t* next_source_row) {
  using R = Result<Writer*>;
  if (!o.path || !*o.path) return R::error("h5ad writer: options.path is empty");
  if (o.n_cols <= 0) return R::error(std::string(o.path) + ": h5ad writer: n_cols must be > 0");
  if (o.n_var_rows > 0 && !o.var_rows)
    return R::error(std::string(o.path) + ": h5ad writer: var_rows is NULL but n_var_rows > 0");
  std::unique_ptr<Writer> w(new Writer());
  w->path_ = o.path;
  w->partial_ = w->path_ + ".partial";
  w->source_path_ = o.source_path ? o.source_path : "";
  w->counts_ = o.counts && *o.counts ? o.counts : "X";
  w->key_ = o.key && *o.key ? o.key : "X_uce";
  w->fingerprint_ = o.fingerprint ? o.fingerprint : "";
  w->n_cols_ = o.n_cols;
  w->copy_x_ = o.copy_x != 0;
  if (o.n_var_rows > 0) w->var_rows_.assign(o.var_rows, o.var_rows + o.n_var_rows);
  for (int64_t i = 0; i < o.n_uns; ++i) {
    w->uns_keys_.emplace_back(o.uns_keys && o.uns_keys[i] ? o.uns_keys[i] : "");
    w->uns_values_.emplace_back(o.uns_values && o.uns_values[i] ? o.uns_values[i] : "");
  }
  w->log_ = o.log;
  w->log_user_ = o.log_user;
  if (w->key_.find('/') != std::string::npos)
    return R::error(w->path_ + ": obsm key '" + w->key_ + "' must not contain '/'");

  const std::string folder = folder_of(w->path_);
  std::error_code ec;
  if (!fs::is_directory(folder, ec))
    return R::error(w->path_ + ": output folder " + folder + " does not exist or is not a folder");
  if (access(folder.c_str(), W_OK) != 0)
    return R::error(w->path_ + ": output folder " + folder + " is not writable");

  bool matched = false;
  if (resume) {
    Status st = w->try_reopen_partial(matched);
    if (!st) return st;
  }
  if (!matched) {
    Status st = w->create_partial();
    if (!st) return st;
  }
  if (rows_stored) *rows_stored = w->stored_;
  if (next_source_row) *next_source_row = w->last_source_row_ + 1;
  return w.release();
}

Status Writer::create_partial() {
  std::remove(partial_.c_str());  // a stale partial of other settings: replaced
  Hid fapl(h5::file_access_plist());
  file_ = Hid(H5Fcreate(partial_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()));
  if (!file_) return Status::error(partial_ + ": cannot create the temporary output file");
  hid_t f = file_.get();
  Status st = h5::set_encoding(f, "anndata", "0.1.0");
  if (!st) return st;
  auto obsm = h5::create_group(f, "obsm", "dict", "0.1.0");
  if (!obsm) return obsm.status();
  const hsize_t cols = static_cast<hsize_t>(n_cols_);
  // ~1 MiB chunks for wide embeddings, at most 1024 rows (small outputs stay small).
  const hsize_t chunk_rows = std::clamp<hsize_t>((hsize_t{1} << 20) / (cols * 4), 1, 1024);
  auto emb = create_extendable(obsm->get(), key_, H5T_NATIVE_FLOAT, cols, chunk_rows);
  if (!emb) return emb.status();
  embeddings_ = emb.take();
  st = h5::set_encoding(embeddings_.get(), "array", "0.2.0");
  if (!st) return st;
  meta_ = Hid(H5Gcreate2(f, kMetaGroup, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  auto rows = create_extendable(f, kSourceRows, H5T_NATIVE_INT64, 0, 4096);
  if (!rows) return rows.status();
  source_rows_ = rows.take();
  st = h5::write_string_attr(meta_.get(), "fingerprint", fingerprint_);
  if (!st) return st;
  st = h5::write_int_array_attr(meta_.get(), "rows_committed", {0});
  if (!st) return st;
  stored_ = 0;
  last_source_row_ = -1;
  if (H5Fflush(f, H5F_SCOPE_GLOBAL) < 0) return Status::error(partial_ + ": flush failed");
  return Status::ok();
}

Status Writer::try_reopen_partial(bool& matched) {
  matched = false;
  if (access(partial_.c_str(), F_OK) != 0) return Status::ok();
  auto stale = [&](const std::string& why) {
    log(UCE_LOG_INFO, partial_ + ": not resumed (" + why + "); starting over");
    embeddings_.reset();
    source_rows_.reset();
    meta_.reset();
    file_.reset();
    return Status::ok();
  };
  Hid fapl(h5::file_access_plist());
  file_ = Hid(H5Fopen(partial_.c_str(), H5F_ACC_RDWR, fapl.get()));
  if (!file_) return stale("cannot be opened as HDF5");
  hid_t f = file_.get();
  if (h5::object_kind(f, kMetaGroup) != h5::ObjKind::Group ||
      h5::object_kind(f, kSourceRows) != h5::ObjKind::Dataset ||
      h5::object_kind(f, "obsm/" + key_) != h5::ObjKind::Dataset)
    return stale("no uce_partial bookkeeping or obsm/" + key_);
  meta_ = Hid(H5Gopen2(f, kMetaGroup, H5P_DEFAULT));
  auto fp = h5::read_string_attr(meta_.get(), "fingerprint");
  if (!fp || fp.value() != fingerprint_) return stale("fingerprint differs");
  auto committed = h5::read_int_array_attr(meta_.get(), "rows_committed");
  if (!committed || committed->size() != 1) return stale("no rows_committed");
  embeddings_ = Hid(H5Dopen2(f, ("obsm/" + key_).c_str(), H5P_DEFAULT));
  source_rows_ = Hid(H5Dopen2(f, kSourceRows, H5P_DEFAULT));
  auto emb_dims = h5::dataset_dims(embeddings_.get());
  auto row_dims = h5::dataset_dims(source_rows_.get());
  const int64_t n = committed->front();
  if (emb_dims.size() != 2 || emb_dims[1] != n_cols_) return stale("embedding width differs");
  if (row_dims.size() != 1 || n < 0 || emb_dims[0] < n || row_dims[0] < n)
    return stale("bookkeeping inconsistent");
  // Rows past rows_committed were being written when the run stopped: drop only those.
  hsize_t emb_extent[2] = {static_cast<hsize_t>(n), static_cast<hsize_t>(n_cols_)};
  hsize_t row_extent[1] = {static_cast<hsize_t>(n)};
  if (H5Dset_extent(embeddings_.get(), emb_extent) < 0 ||
      H5Dset_extent(source_rows_.get(), row_extent) < 0)
    return stale("cannot trim uncommitted rows");
  stored_ = n;
  last_source_row_ = -1;
  if (n > 0) {
    auto last = h5::read_int64(source_rows_.get(), h5::Rows::range(n - 1, 1), partial_);
    if (!last) return stale(last.message());
    last_source_row_ = last->front();
  }
  matched = true;
  log(UCE_LOG_INFO, partial_ + ": resuming after " + std::to_string(n) + " stored rows");
  return Status::ok();
}

Status Writer::append(const int64_t* source_rows, const float* embeddings, int64_t n_rows) {
  if (done_) return Status::error(path_ + ": writer already finished");
  if (n_rows < 0 || (n_rows > 0 && (!source_rows || !embeddings)))
    return Status::error(path_ + ": writer_append needs n_rows >= 0 and non-NULL arrays");
  int64_t prev = last_source_row_;
  for (int64_t i = 0; i < n_rows; ++i) {
    if (source_rows[i] <= prev)
      return Status::error(path_ + ": source rows must arrive in increasing order: row " +
                           std::to_string(source_rows[i]) + " after " + std::to_string(prev));
    prev = source_rows[i];
  }
  Status st = write_at(embeddings_.get(), H5T_NATIVE_FLOAT, stored_, n_rows,
                       static_cast<hsize_t>(n_cols_), embeddings, partial_ + ": obsm/" + key_);
  if (!st) return st;
  st = write_at(source_rows_.get(), H5T_NATIVE_INT64, stored_, n_rows, 0, source_rows,
                partial_ + ": " + kSourceRows);
  if (!st) return st;
  // Committed only after the data: a kill in between leaves the previous count, still complete.
  st = h5::write_int_array_attr(meta_.get(), "rows_committed", {stored_ + n_rows});
  if (!st) return st;
  if (H5Fflush(file_.get(), H5F_SCOPE_GLOBAL) < 0) return Status::error(partial_ + ": flush failed");
  stored_ += n_rows;
  last_source_row_ = prev;
  return Status::ok();
}

Status Writer::write_tables(hid_t source, const std::vector<int64_t>& rows) {
  hid_t f = file_.get();
  LogFn logfn = [this](int level, const std::string& line) { log(level, line); };
  const std::string var_path = counts_paths(source >= 0 ? source : file_.get(), counts_).var;
  bool obs_done = false, var_done = false;
  if (source >= 0) {
    auto obs = open_dataframe(source, source_path_, "obs");
    if (obs && obs->n_rows > (rows.empty() ? -1 : rows.back())) {
      Status st = write_dataframe_rows(obs.value(), rows, f, "obs", logfn);
      if (!st) return st;
      obs_done = true;
    } else {
      log(UCE_LOG_WARN, source_path_ + ": obs not copied (" +
                            (obs ? std::string("fewer rows than the stored row ids") : obs.message()) + ")");
    }
    auto var = open_dataframe(source, source_path_, var_path);
    if (var) {
      for (int64_t r : var_rows_)
        if (r < 0 || r >= var->n_rows)
          return Status::error(path_ + ": var_rows entry " + std::to_string(r) + " outside the " +
                               std::to_string(var->n_rows) + " rows of " + source_path_ + ": " + var_path);
      Status st = write_dataframe_rows(var.value(), var_rows_, f, "var", logfn);
      if (!st) return st;
      var_done = true;
    } else {
      log(UCE_LOG_WARN, source_path_ + ": var not copied (" + var.message() + ")");
    }
  }
  if (!obs_done) {
    std::vector<std::string> names;
    for (int64_t r : rows) names.push_back(std::to_string(r));
    Status st = write_index_only_dataframe(f, "obs", names);
    if (!st) return st;
  }
  if (!var_done) {
    std::vector<std::string> names;
    for (int64_t r : var_rows_) names.push_back(std::to_string(r));
    Status st = write_index_only_dataframe(f, "var", names);
    if (!st) return st;
  }
  auto uns = h5::create_group(f, "uns", "dict", "0.1.0");
  if (!uns) return uns.status();
  for (size_t i = 0; i < uns_keys_.size(); ++i) {
    if (uns_keys_[i].empty() || uns_keys_[i].find('/') != std::string::npos) {
      log(UCE_LOG_WARN, path_ + ": uns key '" + uns_keys_[i] + "' skipped (empty or contains '/')");
      continue;
    }
    if (H5Lexists(uns->get(), uns_keys_[i].c_str(), H5P_DEFAULT) > 0) continue;  // first wins
    Status st = h5::write_string_scalar(uns->get(), uns_keys_[i], uns_values_[i]);
    if (!st) return st;
  }
  for (const char* empty : {"layers", "obsp", "varm", "varp"}) {
    auto g = h5::create_group(f, empty, "dict", "0.1.0");
    if (!g) return g.status();
  }
  return Status::ok();
}

Status Writer::write_x(hid_t source, const std::vector<int64_t>& rows) {
  auto matrix = CountsMatrix::open(source, source_path_, counts_paths(source, counts_).matrix,
                                   int64_t{64} << 20);
  if (!matrix) return matrix.status();
  CountsMatrix& m = matrix.value();
  std::vector<int32_t> column_of(static_cast<size_t>(m.n_var()), -1);
  for (size_t j = 0; j < var_rows_.size(); ++j) {
    if (var_rows_[j] < 0 || var_rows_[j] >= m.n_var())
      return Status::error(path_ + ": var_rows entry " + std::to_string(var_rows_[j]) +
                           " outside the " + std::to_string(m.n_var()) + " genes of " + counts_);
    column_of[static_cast<size_t>(var_rows_[j])] = static_cast<int32_t>(j);
  }
  hid_t f = file_.get();
  auto group = h5::create_group(f, "X", "csr_matrix", "0.1.0");
  if (!group) return group.status();
  Status st = h5::write_int_array_attr(group->get(), "shape",
                                       {static_cast<int64_t>(rows.size()),
                                        static_cast<int64_t>(var_rows_.size())});
  if (!st) return st;
  auto data = create_extendable(group->get(), "data", H5T_NATIVE_FLOAT, 0, 1 << 14);
  auto indices = create_extendable(group->get(), "indices", H5T_NATIVE_INT32, 0, 1 << 14);
  auto indptr = create_extendable(group->get(), "indptr", H5T_NATIVE_INT64, 0, 4096);
  if (!data) return data.status();
  if (!indices) return indices.status();
  if (!indptr) return indptr.status();

  std::vector<float> out_values;
  std::vector<int32_t> out_indices;
  std::vector<int64_t> out_indptr{0};
  int64_t written_values = 0, written_ptr = 0, total = 0;
  std::vector<std::pair<int32_t, float>> row_entries;
  auto flush = [&]() -> Status {
    Status s = write_at(data->get(), H5T_NATIVE_FLOAT, written_values,
                        static_cast<int64_t>(out_values.size()), 0, out_values.data(), path_ + ": X/data");
    if (!s) return s;
    s = write_at(indices->get(), H5T_NATIVE_INT32, written_values,
                 static_cast<int64_t>(out_indices.size()), 0, out_indices.data(), path_ + ": X/indices");
    if (!s) return s;
    s = write_at(indptr->get(), H5T_NATIVE_INT64, written_ptr, static_cast<int64_t>(out_indptr.size()),
                 0, out_indptr.data(), path_ + ": X/indptr");
    if (!s) return s;
    written_values += static_cast<int64_t>(out_values.size());
    written_ptr += static_cast<int64_t>(out_indptr.size());
    out_values.clear();
    out_indices.clear();
    out_indptr.clear();
    return Status::ok();
  };
  // Runs of consecutive source rows (at most 1024) are read together.
  for (size_t i = 0; i < rows.size();) {
    size_t j = i + 1;
    while (j < rows.size() && j - i < 1024 && rows[j] == rows[j - 1] + 1) ++j;
    CsrView view;
    st = m.read_rows(rows[i], rows[j - 1] + 1, view);
    if (!st) return st;
    for (int64_t r = 0; r < view.n_rows; ++r) {
      row_entries.clear();
      for (int64_t k = view.indptr[r]; k < view.indptr[r + 1]; ++k) {
        int32_t c = column_of[static_cast<size_t>(view.indices[k])];
        if (c >= 0) row_entries.emplace_back(c, static_cast<float>(view.values[k]));
      }
      std::sort(row_entries.begin(), row_entries.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      for (const auto& [c, v] : row_entries) {
        out_indices.push_back(c);
        out_values.push_back(v);
      }
      total += static_cast<int64_t>(row_entries.size());
      out_indptr.push_back(total);
    }
    if (out_values.size() > (size_t{1} << 20)) {
      st = flush();
      if (!st) return st;
    }
    i = j;
  }
  return flush();
}

Status Writer::finish() {
  if (done_) return Status::error(path_ + ": writer already finished");
  auto rows = h5::read_int64(source_rows_.get(), h5::Rows::range(0, stored_), partial_);
  if (!rows) return rows.status();
  Hid source;
  if (!source_path_.empty()) {
    Hid fapl(h5::file_access_plist());
    source = Hid(H5Fopen(source_path_.c_str(), H5F_ACC_RDONLY, fapl.get()));
    if (!source) return Status::error(source_path_ + ": cannot open the source file to copy obs/var/X");
  }
  // A finish that failed earlier (then resumed) may have left some tables: write them afresh.
  for (const char* table : {"obs", "var", "uns", "X", "layers", "obsp", "varm", "varp"})
    if (H5Lexists(file_.get(), table, H5P_DEFAULT) > 0) H5Ldelete(file_.get(), table, H5P_DEFAULT);
  Status st = write_tables(source.valid() ? source.get() : H5I_INVALID_HID, rows.value());
  if (!st) return st;
  if (copy_x_) {
    if (!source) {
      log(UCE_LOG_WARN, path_ + ": copy_x asked but no source_path; X omitted");
    } else {
      st = write_x(source.get(), rows.value());
      if (!st) return st;
    }
  }
  embeddings_.reset();
  source_rows_.reset();
  meta_.reset();
  if (H5Ldelete(file_.get(), kMetaGroup, H5P_DEFAULT) < 0)
    return Status::error(partial_ + ": cannot remove the uce_partial bookkeeping group");
  if (H5Fflush(file_.get(), H5F_SCOPE_GLOBAL) < 0) return Status::error(partial_ + ": flush failed");
  file_.reset();
  if (std::rename(partial_.c_str(), path_.c_str()) != 0)
    return Status::error(partial_ + ": cannot rename to " + path_ + ": " + std::strerror(errno));
  done_ = true;
  return Status::ok();
}

void Writer::abort() {
  embeddings_.reset();
  source_rows_.reset();
  meta_.reset();
  file_.reset();
  if (!done_) std::remove(partial_.c_str());
  done_ = true;
}

}  // namespace uce::h5ad
