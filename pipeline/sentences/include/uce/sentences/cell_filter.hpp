// cell_filter.hpp — the official tool's optional filtering (cell-sentences.md §1.1) in ONE
// streamed pass over the file's CSR rows, and the count checks of §1.5.
//
// Filtering is scanpy's, run in this order on the raw file (all genes, before any other
// subsetting): sc.pp.filter_genes(min_cells=10) keeps genes with a value > 0 in >= min_cells
// cells; then sc.pp.filter_cells(min_genes=25) keeps cells with a value > 0 in >= min_genes of
// the genes that passed. The second step depends on the first, yet one pass suffices: a gene that
// fails has fewer than min_cells positive cells, so the counter remembers those few rows for
// every gene until the gene reaches min_cells (memory <= genes x (min_cells - 1) row ids), and
// finish() subtracts the failed genes' entries from their cells' totals.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "uce/status.hpp"

namespace uce::sentences {

struct FilterParams {
  int64_t min_cells = 10;  // gene filter
  int64_t min_genes = 25;  // cell filter
};

struct FilterDecision {
  std::vector<uint8_t> keep_gene;       // per file gene
  std::vector<uint8_t> keep_cell;       // per file row
  std::vector<int64_t> gene_cells;      // per gene: cells with a value > 0
  std::vector<int32_t> cell_genes;      // per cell: passing genes with a value > 0
  std::vector<int64_t> dropped_cells;   // file rows dropped, ascending (for the output/log)
  int64_t genes_kept = 0;
  int64_t cells_kept = 0;
};

class FilterCounter {
 public:
  FilterCounter(std::size_t n_genes, FilterParams params);

  // Consecutive CSR rows (numbered on from the previous call). Row r's entries are
  // indices/values[indptr[r] - indptr[0], indptr[r + 1] - indptr[0]), so a slice of the file's
  // indptr can be passed as it is, with indices/values pointing at the slice's first entry.
  template <typename Ptr, typename Idx, typename Val>
  Status add_rows(const Ptr* indptr, const Idx* indices, const Val* values, std::size_t n_rows) {
    for (std::size_t r = 0; r < n_rows; ++r) {
      const auto b = static_cast<int64_t>(indptr[r] - indptr[0]);
      const auto e = static_cast<int64_t>(indptr[r + 1] - indptr[0]);
      if (e < b) return Status::error(bad_indptr(r));
      const int64_t row = static_cast<int64_t>(cell_total_.size());
      int32_t total = 0;
      for (int64_t i = b; i < e; ++i) {
        if (!(values[i] > Val(0))) continue;
        const auto g = static_cast<int64_t>(indices[i]);
        if (g < 0 || g >= static_cast<int64_t>(gene_cells_.size())) return Status::error(bad_index(row, g));
        count_positive(row, g);
        ++total;
      }
      cell_total_.push_back(total);
    }
    return Status::ok();
  }

  // One dense row of n_genes values.
  template <typename Val>
  void add_dense_row(const Val* values) {
    const int64_t row = static_cast<int64_t>(cell_total_.size());
    int32_t total = 0;
    for (std::size_t g = 0; g < gene_cells_.size(); ++g) {
      if (!(values[g] > Val(0))) continue;
      count_positive(row, static_cast<int64_t>(g));
      ++total;
    }
    cell_total_.push_back(total);
  }

  int64_t rows_seen() const { return static_cast<int64_t>(cell_total_.size()); }
  FilterDecision finish() const;

 private:
  void count_positive(int64_t row, int64_t g) {
    const int64_t c = ++gene_cells_[g];
    if (c < params_.min_cells) {
      few_rows_[g].push_back(row);
    } else if (c == params_.min_cells) {
      std::vector<int64_t>().swap(few_rows_[g]);  // the gene passes: its rows are not needed
    }
  }
  std::string bad_indptr(std::size_t r) const;
  std::string bad_index(int64_t row, int64_t g) const;

  FilterParams params_;
  std::vector<int64_t> gene_cells_;
  std::vector<std::vector<int64_t>> few_rows_;
  std::vector<int32_t> cell_total_;
};

// §1.5: counts must be integers >= 0.
enum class CountPolicy { kWarn, kRefuse };
Result<CountPolicy> parse_count_policy(std::string_view text);  // "warn" | "refuse"

struct CountIssue {
  int64_t count = 0;
  int64_t first_row = -1, first_gene = -1;
  double first_value = 0;
};

class CountChecker {
 public:
  void check(int64_t row, int64_t gene, double v) {
    if (std::isnan(v) || std::isinf(v)) {
      note(not_finite_, row, gene, v);
    } else if (v < 0) {
      note(negative_, row, gene, v);
    } else if (v != std::trunc(v)) {
      note(non_integer_, row, gene, v);
    }
  }
  // One CSR row's stored entries (integer types can only be negative).
  template <typename Idx, typename Val>
  void check_row(int64_t row, const Idx* indices, const Val* values, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      if constexpr (std::is_integral_v<Val>) {
        if (values[i] < 0) note(negative_, row, static_cast<int64_t>(indices[i]), static_cast<double>(values[i]));
      } else {
        check(row, static_cast<int64_t>(indices[i]), static_cast<double>(values[i]));
      }
    }
  }
  void merge(const CountChecker& other);  // combine per-thread checkers (keeps the lowest row)

  bool clean() const { return non_integer_.count + negative_.count + not_finite_.count == 0; }
  const CountIssue& non_integer() const { return non_integer_; }
  const CountIssue& negative() const { return negative_; }
  const CountIssue& not_finite() const { return not_finite_; }
  // One line, e.g. "X: 12 non-integer values (first: row 3, gene 7, 0.5); 1 negative value ...;
  // the input looks normalised, expected raw integer counts". Empty when clean.
  std::string summary(std::string_view source) const;
  // kRefuse: an error with summary() when not clean; kWarn: ok (log summary() yourself).
  Status verdict(CountPolicy policy, std::string_view source) const;

 private:
  static void note(CountIssue& issue, int64_t row, int64_t gene, double v) {
    if (issue.count++ == 0 || row < issue.first_row) {
      issue.first_row = row;
      issue.first_gene = gene;
      issue.first_value = v;
    }
  }
  CountIssue non_integer_, negative_, not_finite_;
};

// The official cast of a stored value to a count: X goes through float32 (torch .float()) and
// is then truncated to int64. NaN becomes 0 (numpy would give INT64_MIN and crash later);
// values beyond int64 saturate.
inline int64_t official_count(double v) {
  const float f = static_cast<float>(v);
  if (std::isnan(f)) return 0;
  if (f >= 9.2233720368547758e18f) return std::numeric_limits<int64_t>::max();
  if (f <= -9.2233720368547758e18f) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(f);
}

}  // namespace uce::sentences
