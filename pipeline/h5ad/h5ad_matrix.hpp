// h5ad_matrix.hpp — the counts matrix of an .h5ad (X, raw/X or layers/<name>) read as CSR row
// ranges with bounded memory, whatever its layout:
//  * CSR group: indptr slice, then the data/indices slices read in their stored types and
//    converted by our own loops (h5_numeric_column.hpp) into output buffers reused across calls:
//    memory = the largest request's values (12 bytes each) + a ~1 MiB staging piece.
//  * dense 2-D dataset: row blocks (hyperslabs) of at most max_chunk_bytes as doubles, compressed
//    to CSR (zeros dropped, NaN kept).
//  * CSC group: rows are scattered over every column, so one pass over the rows of a window costs
//    a scan of ALL nnz entries (O(nnz) per window). To keep a full read to a few passes, a request
//    for rows [b, e) builds a window [b, b + W) sized so the window (~28 bytes per stored value
//    while it is built) fits in max_chunk_bytes / 2, reading the column data in pieces of
//    max_chunk_bytes / 4; later requests inside the window are served from it.
// The structure (shape, indptr monotone, indptr within data) is validated at open, streaming the
// indptr in bounded pieces; indices are range-checked as they are read.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "h5_numeric_column.hpp"
#include "h5_read.hpp"

namespace uce::h5ad {

// Where the counts matrix and its var dataframe live for a `counts` setting ("X", "raw/X",
// "layers/<name>"): var for X and layers, raw/var for raw/X; anndata < 0.7 files keep raw as
// "raw.X" / "raw.var" at the root, used when "raw/X" is absent.
struct CountsPaths {
  std::string matrix;
  std::string var;
};
CountsPaths counts_paths(hid_t file, const std::string& counts);

struct CsrView {
  int64_t n_rows = 0;
  const int64_t* indptr = nullptr;  // n_rows + 1 entries, indptr[0] == 0
  const int32_t* indices = nullptr;
  const double* values = nullptr;
};

class CountsMatrix {
 public:
  enum class Kind { Dense, Csr, Csc };

  static Result<CountsMatrix> open(hid_t file, const std::string& file_name,
                                   const std::string& counts, int64_t max_chunk_bytes);

  Kind kind() const { return kind_; }
  int64_t n_obs() const { return n_obs_; }
  int64_t n_var() const { return n_var_; }
  const std::string& layout() const { return layout_; }

  // Rows [row_begin, row_end) as CSR; the view stays valid until the next call.
  Status read_rows(int64_t row_begin, int64_t row_end, CsrView& out);

 private:
  Status read_csr(int64_t b, int64_t e, CsrView& out);
  Status read_dense(int64_t b, int64_t e, CsrView& out);
  Status read_csc(int64_t b, int64_t e, CsrView& out);
  Status build_csc_window(int64_t b, int64_t e);
  Status validate_indptr(int64_t major, int64_t nnz);
  std::string where(const std::string& part) const;

  Kind kind_ = Kind::Dense;
  std::string file_name_;
  std::string counts_;
  std::string layout_;
  int64_t n_obs_ = 0;
  int64_t n_var_ = 0;
  int64_t nnz_ = 0;
  int64_t max_chunk_bytes_ = 0;
  h5::Hid dense_;
  h5::Hid indptr_;
  h5::Hid data_, indices_;  // CSC only (CSR reads them through csr_data_ / csr_indices_)
  // Output storage of the last read_rows.
  std::vector<int64_t> out_indptr_;
  std::vector<int32_t> out_indices_;
  std::vector<double> out_values_;
  std::vector<double> staging_;
  // CSR only: data and indices read without HDF5's conversion path, into reused buffers.
  h5::NumericColumn csr_data_, csr_indices_;
  h5::ScratchBuffer<int32_t> csr_indices_out_;
  h5::ScratchBuffer<double> csr_values_out_;
  // CSC only: the column pointers (n_var + 1) and the cached row window.
  std::vector<int64_t> csc_indptr_;
  int64_t window_begin_ = 0, window_end_ = 0;
  std::vector<int64_t> window_indptr_;
  std::vector<int32_t> window_indices_;
  std::vector<double> window_values_;
};

}  // namespace uce::h5ad
