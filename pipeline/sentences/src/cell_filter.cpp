// cell_filter.cpp — see cell_filter.hpp.
#include "uce/sentences/cell_filter.hpp"

#include <sstream>

namespace uce::sentences {

FilterCounter::FilterCounter(std::size_t n_genes, FilterParams params)
    : params_(params), gene_cells_(n_genes, 0), few_rows_(n_genes) {}

std::string FilterCounter::bad_indptr(std::size_t r) const {
  return "CSR chunk: indptr decreases at chunk row " + std::to_string(r) + " (file row " +
         std::to_string(cell_total_.size()) + "); expected a non-decreasing indptr";
}

std::string FilterCounter::bad_index(int64_t row, int64_t g) const {
  return "CSR chunk: row " + std::to_string(row) + " has gene index " + std::to_string(g) +
         "; expected 0 <= index < " + std::to_string(gene_cells_.size());
}

FilterDecision FilterCounter::finish() const {
  FilterDecision d;
  const std::size_t n_genes = gene_cells_.size();
  d.gene_cells = gene_cells_;
  d.cell_genes = cell_total_;
  d.keep_gene.assign(n_genes, 0);
  for (std::size_t g = 0; g < n_genes; ++g) {
    if (gene_cells_[g] >= params_.min_cells) {
      d.keep_gene[g] = 1;
      ++d.genes_kept;
    } else {
      for (int64_t row : few_rows_[g]) --d.cell_genes[row];
    }
  }
  d.keep_cell.assign(cell_total_.size(), 0);
  for (std::size_t r = 0; r < cell_total_.size(); ++r) {
    if (d.cell_genes[r] >= params_.min_genes) {
      d.keep_cell[r] = 1;
      ++d.cells_kept;
    } else {
      d.dropped_cells.push_back(static_cast<int64_t>(r));
    }
  }
  return d;
}

Result<CountPolicy> parse_count_policy(std::string_view text) {
  if (text == "warn") return CountPolicy::kWarn;
  if (text == "refuse") return CountPolicy::kRefuse;
  return Result<CountPolicy>::error("count policy: got \"" + std::string(text) +
                                    "\", expected warn or refuse");
}

void CountChecker::merge(const CountChecker& other) {
  auto one = [](CountIssue& a, const CountIssue& b) {
    if (b.count == 0) return;
    if (a.count == 0 || b.first_row < a.first_row) {
      a.first_row = b.first_row;
      a.first_gene = b.first_gene;
      a.first_value = b.first_value;
    }
    a.count += b.count;
  };
  one(non_integer_, other.non_integer_);
  one(negative_, other.negative_);
  one(not_finite_, other.not_finite_);
}

std::string CountChecker::summary(std::string_view source) const {
  if (clean()) return {};
  std::ostringstream s;
  s.precision(17);
  s << source << ":";
  const char* sep = " ";
  auto part = [&](const CountIssue& i, const char* what) {
    if (i.count == 0) return;
    s << sep << i.count << " " << what << " value(s) (first: row " << i.first_row << ", gene "
      << i.first_gene << ", " << i.first_value << ")";
    sep = "; ";
  };
  part(non_integer_, "non-integer");
  part(negative_, "negative");
  part(not_finite_, "NaN/infinite");
  s << "; the input looks normalised, expected raw integer counts (the official tool truncates "
       "to int64 through float32)";
  return s.str();
}

Status CountChecker::verdict(CountPolicy policy, std::string_view source) const {
  if (clean() || policy == CountPolicy::kWarn) return Status::ok();
  return Status::error(summary(source));
}

}  // namespace uce::sentences
