#include "h5ad_matrix.hpp"

#include <algorithm>
#include <cstdlib>
#include <thread>

namespace uce::h5ad {
namespace {

// Below this many stored values a row range is read on one thread (a thread start costs more).
// UCE_H5AD_PARALLEL_FROM overrides it (tests run the small fixtures through the two-thread path).
int64_t parallel_from() {
  static const int64_t from = [] {
    const char* v = std::getenv("UCE_H5AD_PARALLEL_FROM");
    return v && *v ? std::max<int64_t>(0, std::atoll(v)) : int64_t{1} << 16;
  }();
  return from;
}

using h5::Hid;
using h5::ObjKind;

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "(nothing)" : out;
}

std::string type_name(hid_t type) {
  H5T_class_t cls = H5Tget_class(type);
  size_t bits = H5Tget_size(type) * 8;
  switch (cls) {
    case H5T_INTEGER:
      return std::string(H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + std::to_string(bits);
    case H5T_FLOAT: return "float" + std::to_string(bits);
    case H5T_STRING: return "string";
    case H5T_ENUM: return "enum/bool";
    case H5T_COMPOUND: return "compound";
    default: return "non-numeric";
  }
}

bool is_number(hid_t type) {
  H5T_class_t cls = H5Tget_class(type);
  return cls == H5T_INTEGER || cls == H5T_FLOAT;
}

}  // namespace

CountsPaths counts_paths(hid_t file, const std::string& counts) {
  if (counts.rfind("raw/", 0) != 0) return {counts, "var"};
  if (counts == "raw/X" && !h5::path_exists(file, "raw/X") && h5::path_exists(file, "raw.X"))
    return {"raw.X", "raw.var"};
  return {counts, "raw/var"};
}

std::string CountsMatrix::where(const std::string& part) const {
  return file_name_ + ": " + counts_ + (part.empty() ? "" : "/" + part);
}

Result<CountsMatrix> CountsMatrix::open(hid_t file, const std::string& file_name,
                                        const std::string& counts, int64_t max_chunk_bytes) {
  using R = Result<CountsMatrix>;
  CountsMatrix m;
  m.file_name_ = file_name;
  m.counts_ = counts;
  m.max_chunk_bytes_ = max_chunk_bytes;
  ObjKind kind = h5::object_kind(file, counts);
  if (kind == ObjKind::Missing) {
    std::string holds = join(h5::child_names(file));
    if (counts.rfind("layers/", 0) == 0 && h5::object_kind(file, "layers") == ObjKind::Group) {
      Hid layers(H5Gopen2(file, "layers", H5P_DEFAULT));
      holds += "; layers holds: " + join(h5::child_names(layers.get()));
    }
    return R::error(file_name + ": no dataset or group '" + counts + "' for the counts (counts = \"" +
                    counts + "\"); the file holds: " + holds);
  }
  if (kind == ObjKind::Dataset) {
    m.dense_ = Hid(H5Dopen2(file, counts.c_str(), H5P_DEFAULT));
    Hid type(H5Dget_type(m.dense_.get()));
    auto dims = h5::dataset_dims(m.dense_.get());
    if (dims.size() != 2)
      return R::error(m.where("") + " is a " + std::to_string(dims.size()) +
                      "-D dataset; expected a 2-D cells x genes matrix or a sparse group");
    if (!is_number(type.get()))
      return R::error(m.where("") + " holds " + type_name(type.get()) +
                      " values; expected integer or float numbers");
    m.kind_ = Kind::Dense;
    m.n_obs_ = dims[0];
    m.n_var_ = dims[1];
    m.layout_ = counts + ": dense " + type_name(type.get()) + " [" + std::to_string(m.n_obs_) +
                " x " + std::to_string(m.n_var_) + "], read in row blocks of <= max_chunk_bytes";
    return m;
  }
  if (kind != ObjKind::Group) return R::error(m.where("") + " is neither a dataset nor a group");

  Hid group(H5Gopen2(file, counts.c_str(), H5P_DEFAULT));
  hid_t g = group.get();
  std::string enc = h5::string_attr_or(g, "encoding-type", "");
  std::string old_format = h5::string_attr_or(g, "h5sparse_format", "");
  bool old_style = false;
  if (enc == "csr_matrix" || (enc.empty() && old_format == "csr")) {
    m.kind_ = Kind::Csr;
    old_style = enc.empty();
  } else if (enc == "csc_matrix" || (enc.empty() && old_format == "csc")) {
    m.kind_ = Kind::Csc;
    old_style = enc.empty();
  } else {
    std::string found = !enc.empty() ? "encoding-type '" + enc + "'"
                        : !old_format.empty() ? "h5sparse_format '" + old_format + "'"
                                              : "no encoding-type or h5sparse_format attribute";
    return R::error(m.where("") + " is a group with " + found +
                    "; expected a dense dataset or a sparse group with encoding-type "
                    "csr_matrix/csc_matrix (or h5sparse_format csr/csc)");
  }
  const char* shape_attr = old_style ? "h5sparse_shape" : "shape";
  auto shape = h5::read_int_array_attr(g, shape_attr);
  if (!shape || shape->size() != 2 || (*shape)[0] < 0 || (*shape)[1] < 0)
    return R::error(m.where("") + ": attribute '" + shape_attr +
                    "' missing or not 2 non-negative integers; expected [n_obs, n_var]");
  m.n_obs_ = (*shape)[0];
  m.n_var_ = (*shape)[1];
  for (const char* part : {"data", "indices", "indptr"}) {
    if (h5::object_kind(g, part) != ObjKind::Dataset)
      return R::error(m.where(part) + " is missing; a sparse group needs data, indices, indptr "
                      "(it holds: " + join(h5::child_names(g)) + ")");
  }
  if (m.kind_ == Kind::Csr) {
    // The columns are the only handles of data and indices (see NumericColumn::open).
    // Staging pieces of ~1 MiB (large enough that H5Dread's per-call cost is negligible, small
    // enough that a converted piece is still in cache), never above a quarter of max_chunk_bytes.
    const int64_t piece_bytes = std::clamp<int64_t>(max_chunk_bytes / 4, 1, int64_t{1} << 20);
    auto data_col = h5::NumericColumn::open(g, "data", m.where("data"), piece_bytes);
    if (!data_col) return data_col.status();
    auto indices_col = h5::NumericColumn::open(g, "indices", m.where("indices"), piece_bytes);
    if (!indices_col) return indices_col.status();
    m.csr_data_ = data_col.take();
    m.csr_indices_ = indices_col.take();
  } else {
    // CSC reads them through HDF5's own conversion (build_csc_window).
    m.data_ = Hid(H5Dopen2(g, "data", H5P_DEFAULT));
    m.indices_ = Hid(H5Dopen2(g, "indices", H5P_DEFAULT));
  }
  m.indptr_ = Hid(H5Dopen2(g, "indptr", H5P_DEFAULT));
  // The checks below look at the handles the reads will use: each dataset is opened once.
  const hid_t data_id = m.kind_ == Kind::Csr ? m.csr_data_.id() : m.data_.get();
  const hid_t indices_id = m.kind_ == Kind::Csr ? m.csr_indices_.id() : m.indices_.get();
  Hid data_type(H5Dget_type(data_id));
  Hid indices_type(H5Dget_type(indices_id));
  Hid indptr_type(H5Dget_type(m.indptr_.get()));
  if (!is_number(data_type.get()))
    return R::error(m.where("data") + " holds " + type_name(data_type.get()) +
                    "; expected integer or float numbers");
  if (H5Tget_class(indices_type.get()) != H5T_INTEGER || H5Tget_class(indptr_type.get()) != H5T_INTEGER)
    return R::error(m.where("") + ": indices/indptr hold " + type_name(indices_type.get()) + "/" +
                    type_name(indptr_type.get()) + "; expected integers");
  auto data_dims = h5::dataset_dims(data_id);
  auto indices_dims = h5::dataset_dims(indices_id);
  auto indptr_dims = h5::dataset_dims(m.indptr_.get());
  if (data_dims.size() != 1 || indices_dims.size() != 1 || indptr_dims.size() != 1)
    return R::error(m.where("") + ": data, indices and indptr must be 1-D");
  if (data_dims[0] != indices_dims[0])
    return R::error(m.where("") + ": data has " + std::to_string(data_dims[0]) +
                    " entries but indices has " + std::to_string(indices_dims[0]) + "; expected equal");
  m.nnz_ = data_dims[0];
  const bool csr = m.kind_ == Kind::Csr;
  const int64_t major = csr ? m.n_obs_ : m.n_var_;
  if (indptr_dims[0] != major + 1)
    return R::error(m.where("indptr") + " has " + std::to_string(indptr_dims[0]) +
                    " entries; expected " + (csr ? "shape[0]" : "shape[1]") + " + 1 = " +
                    std::to_string(major + 1) + " (" + shape_attr + " = [" +
                    std::to_string(m.n_obs_) + ", " + std::to_string(m.n_var_) + "])");
  Status st = m.validate_indptr(major, m.nnz_);
  if (!st) return st;
  m.layout_ = counts + ": " + (csr ? "csr_matrix" : "csc_matrix") +
              (old_style ? " (h5sparse attrs)" : "") + " [" + std::to_string(m.n_obs_) + " x " +
              std::to_string(m.n_var_) + "], " + std::to_string(m.nnz_) + " stored, " +
              type_name(indices_type.get()) + " indices, " + type_name(data_type.get()) + " data";
  if (!csr)
    m.layout_ += "; CSC: each row window costs one O(nnz) scan, windows sized to max_chunk_bytes/2";
  return m;
}

// Streams indptr in bounded pieces: starts at 0, never decreases, ends within data. CSC keeps it.
Status CountsMatrix::validate_indptr(int64_t major, int64_t nnz) {
  const int64_t piece = std::max<int64_t>(16, max_chunk_bytes_ / 8);
  int64_t prev = 0;
  for (int64_t b = 0; b <= major; b += piece) {
    int64_t n = std::min(piece, major + 1 - b);
    auto values = h5::read_int64(indptr_.get(), h5::Rows::range(b, n), where("indptr"));
    if (!values) return values.status();
    for (int64_t i = 0; i < n; ++i) {
      int64_t v = (*values)[static_cast<size_t>(i)];
      int64_t at = b + i;
      if (at == 0 && v != 0)
        return Status::error(where("indptr") + "[0] = " + std::to_string(v) + "; expected 0");
      if (v < prev)
        return Status::error(where("indptr") + " is not monotone: indptr[" + std::to_string(at - 1) +
                             "] = " + std::to_string(prev) + " > indptr[" + std::to_string(at) +
                             "] = " + std::to_string(v));
      if (v > nnz)
        return Status::error(where("indptr") + "[" + std::to_string(at) + "] = " + std::to_string(v) +
                             " is past the " + std::to_string(nnz) + " entries of data/indices");
      prev = v;
    }
    if (kind_ == Kind::Csc) csc_indptr_.insert(csc_indptr_.end(), values->begin(), values->end());
  }
  return Status::ok();
}

Status CountsMatrix::read_rows(int64_t row_begin, int64_t row_end, CsrView& out) {
  if (row_begin < 0 || row_end < row_begin || row_end > n_obs_)
    return Status::error(where("") + ": rows [" + std::to_string(row_begin) + ", " +
                         std::to_string(row_end) + ") outside [0, " + std::to_string(n_obs_) + ")");
  switch (kind_) {
    case Kind::Csr: return read_csr(row_begin, row_end, out);
    case Kind::Dense: return read_dense(row_begin, row_end, out);
    case Kind::Csc: return read_csc(row_begin, row_end, out);
  }
  return Status::error("unreachable");
}

Status CountsMatrix::read_csr(int64_t b, int64_t e, CsrView& out) {
  const int64_t n = e - b;
  // indptr straight into the reused output array (int64 in the file: no conversion), rebased.
  out_indptr_.resize(static_cast<size_t>(n + 1));
  Status st = h5::read_rows(indptr_.get(), H5T_NATIVE_INT64, h5::Rows::range(b, n + 1), out_indptr_.data(),
                            where("indptr"));
  if (!st) return st;
  int64_t* const ptr = out_indptr_.data();
  const int64_t p0 = ptr[0], p1 = ptr[n];
  if (p0 < 0 || p1 < p0 || p1 > nnz_)
    return Status::error(where("indptr") + " slice [" + std::to_string(p0) + ", " + std::to_string(p1) +
                         ") of rows [" + std::to_string(b) + ", " + std::to_string(e) +
                         ") is not a valid range of data");
  for (int64_t i = 1; i <= n; ++i) {
    if (ptr[i] < ptr[i - 1])
      return Status::error(where("indptr") + " is not monotone at row " + std::to_string(b + i - 1));
  }
  for (int64_t i = 0; i <= n; ++i) ptr[i] -= p0;
  const int64_t count = p1 - p0;
  double* const values = csr_values_out_.ensure(static_cast<size_t>(std::max<int64_t>(count, 1)));
  int32_t* const indices = csr_indices_out_.ensure(static_cast<size_t>(std::max<int64_t>(count, 1)));
  if (!values || !indices)
    return Status::error(where("") + ": out of memory for " + std::to_string(count) + " values of rows [" +
                         std::to_string(b) + ", " + std::to_string(e) + "); lower chunk_rows");
  auto read_indices = [&] { return csr_indices_.read_indices(p0, count, indices, n_var_, "n_var from the shape attribute"); };
  if (csr_data_.raw() && csr_indices_.raw() && count >= parallel_from()) {
    // Both columns are read with pread at listed offsets, no HDF5 call: the two streams (and their
    // conversions) run at once, on this thread and one more (bench/RESULTS.md, issue #3).
    Status indices_st = Status::ok();
    std::thread indices_reader([&] { indices_st = read_indices(); });
    st = csr_data_.read_doubles(p0, count, values);
    indices_reader.join();
    if (!st) return st;
    if (!indices_st) return indices_st;
  } else {
    st = csr_data_.read_doubles(p0, count, values);
    if (!st) return st;
    st = read_indices();
    if (!st) return st;
  }
  out = CsrView{n, out_indptr_.data(), indices, values};
  return Status::ok();
}

Status CountsMatrix::read_dense(int64_t b, int64_t e, CsrView& out) {
  const int64_t row_bytes = std::max<int64_t>(1, n_var_) * 8;
  const int64_t block = std::max<int64_t>(1, max_chunk_bytes_ / row_bytes);
  out_indptr_.assign(1, 0);
  out_indices_.clear();
  out_values_.clear();
  Hid file_space(H5Dget_space(dense_.get()));
  for (int64_t r0 = b; r0 < e; r0 += block) {
    const int64_t rows = std::min(block, e - r0);
    staging_.resize(static_cast<size_t>(rows * n_var_));
    if (n_var_ > 0) {
      hsize_t start[2] = {static_cast<hsize_t>(r0), 0};
      hsize_t count[2] = {static_cast<hsize_t>(rows), static_cast<hsize_t>(n_var_)};
      H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr);
      Hid mem_space(H5Screate_simple(2, count, nullptr));
      if (H5Dread(dense_.get(), H5T_NATIVE_DOUBLE, mem_space.get(), file_space.get(), H5P_DEFAULT,
                  staging_.data()) < 0)
        return Status::error(where("") + ": reading rows [" + std::to_string(r0) + ", " +
                             std::to_string(r0 + rows) + ") failed");
    }
    for (int64_t r = 0; r < rows; ++r) {
      const double* row = staging_.data() + r * n_var_;
      for (int64_t c = 0; c < n_var_; ++c) {
        if (row[c] != 0.0) {  // NaN != 0: kept, passed through unchanged
          out_indices_.push_back(static_cast<int32_t>(c));
          out_values_.push_back(row[c]);
        }
      }
      out_indptr_.push_back(static_cast<int64_t>(out_values_.size()));
    }
  }
  out = CsrView{e - b, out_indptr_.data(), out_indices_.data(), out_values_.data()};
  return Status::ok();
}

Status CountsMatrix::read_csc(int64_t b, int64_t e, CsrView& out) {
  if (!(b >= window_begin_ && e <= window_end_ && !window_indptr_.empty())) {
    Status st = build_csc_window(b, e);
    if (!st) return st;
  }
  const size_t off = static_cast<size_t>(b - window_begin_);
  const int64_t base = window_indptr_[off];
  out_indptr_.resize(static_cast<size_t>(e - b + 1));
  for (size_t i = 0; i < out_indptr_.size(); ++i) out_indptr_[i] = window_indptr_[off + i] - base;
  out = CsrView{e - b, out_indptr_.data(), window_indices_.data() + base,
                window_values_.data() + base};
  return Status::ok();
}

Status CountsMatrix::build_csc_window(int64_t b, int64_t e) {
  // ~28 bytes per kept value while building (row, column, value triples + the CSR result).
  const double per_row = 28.0 * static_cast<double>(nnz_) / static_cast<double>(std::max<int64_t>(1, n_obs_)) + 8.0;
  const int64_t fit = static_cast<int64_t>(static_cast<double>(max_chunk_bytes_ / 2) / per_row);
  const int64_t we = std::min(n_obs_, b + std::max(e - b, fit));
  const int64_t piece = std::max<int64_t>(16, max_chunk_bytes_ / 4 / 16);
  std::vector<int32_t> rows, cols;
  std::vector<double> vals;
  std::vector<int64_t> piece_rows;
  std::vector<double> piece_vals;
  int64_t col = 0;
  for (int64_t p0 = 0; p0 < nnz_; p0 += piece) {
    const int64_t n = std::min(piece, nnz_ - p0);
    auto idx = h5::read_int64(indices_.get(), h5::Rows::range(p0, n), where("indices"));
    if (!idx) return idx.status();
    piece_vals.resize(static_cast<size_t>(n));
    Status st = h5::read_rows(data_.get(), H5T_NATIVE_DOUBLE, h5::Rows::range(p0, n),
                              piece_vals.data(), where("data"));
    if (!st) return st;
    for (int64_t k = 0; k < n; ++k) {
      const int64_t pos = p0 + k;
      while (col < n_var_ && csc_indptr_[static_cast<size_t>(col + 1)] <= pos) ++col;
      if (col >= n_var_) break;  // entries past indptr[n_var] belong to no column
      const int64_t r = (*idx)[static_cast<size_t>(k)];
      if (r < 0 || r >= n_obs_)
        return Status::error(where("indices") + "[" + std::to_string(pos) + "] = " + std::to_string(r) +
                             " outside [0, " + std::to_string(n_obs_) + ") (n_obs from the shape attribute)");
      if (r >= b && r < we) {
        rows.push_back(static_cast<int32_t>(r - b));
        cols.push_back(static_cast<int32_t>(col));
        vals.push_back(piece_vals[static_cast<size_t>(k)]);
      }
    }
  }
  // Counting sort by row; stable, so columns stay ascending inside each row.
  const size_t n_rows = static_cast<size_t>(we - b);
  window_indptr_.assign(n_rows + 1, 0);
  for (int32_t r : rows) ++window_indptr_[static_cast<size_t>(r) + 1];
  for (size_t i = 0; i < n_rows; ++i) window_indptr_[i + 1] += window_indptr_[i];
  window_indices_.resize(rows.size());
  window_values_.resize(rows.size());
  std::vector<int64_t> next(window_indptr_.begin(), window_indptr_.end() - 1);
  for (size_t k = 0; k < rows.size(); ++k) {
    const size_t at = static_cast<size_t>(next[static_cast<size_t>(rows[k])]++);
    window_indices_[at] = cols[k];
    window_values_[at] = vals[k];
  }
  window_begin_ = b;
  window_end_ = we;
  return Status::ok();
}

}  // namespace uce::h5ad
