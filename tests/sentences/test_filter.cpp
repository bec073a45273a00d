// Filtering (scanpy semantics, computed with numpy) and count checks.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "fixtures.hpp"
#include "uce/sentences/cell_filter.hpp"

using namespace uce::sentences;

namespace {

struct FilterFixture {
  std::size_t n_genes = 0;
  FilterParams params;
  std::vector<int64_t> indptr;
  std::vector<int32_t> indices;
  std::vector<double> data;
  nlohmann::json j;
};

const FilterFixture& fx() {
  static const FilterFixture f = [] {
    FilterFixture x;
    x.j = fixtures::read_json("filter.json");
    x.n_genes = x.j["n_genes"];
    x.params.min_cells = x.j["min_cells"];
    x.params.min_genes = x.j["min_genes"];
    x.indptr = x.j["indptr"].get<std::vector<int64_t>>();
    x.indices = x.j["indices"].get<std::vector<int32_t>>();
    for (const auto& v : x.j["data"]) {
      x.data.push_back(v.is_null() ? std::numeric_limits<double>::quiet_NaN() : v.get<double>());
    }
    return x;
  }();
  return f;
}

void expect_decision(const FilterDecision& d) {
  const auto& j = fx().j;
  std::vector<int> keep_gene(d.keep_gene.begin(), d.keep_gene.end());
  std::vector<int> keep_cell(d.keep_cell.begin(), d.keep_cell.end());
  EXPECT_EQ(keep_gene, j["keep_gene"].get<std::vector<int>>());
  EXPECT_EQ(keep_cell, j["keep_cell"].get<std::vector<int>>());
  EXPECT_EQ(d.gene_cells, j["gene_cells"].get<std::vector<int64_t>>());
  EXPECT_EQ(d.cell_genes, j["cell_genes"].get<std::vector<int32_t>>());
  int64_t dropped = 0;
  for (int v : j["keep_cell"]) dropped += v == 0;
  EXPECT_EQ(static_cast<int64_t>(d.dropped_cells.size()), dropped);
  EXPECT_GT(dropped, 0);  // the fixture exercises both filters
  EXPECT_LT(d.genes_kept, static_cast<int64_t>(fx().n_genes));
}

}  // namespace

TEST(FilterCounter, OnePassMatchesScanpyOrderInAnyChunking) {
  const std::size_t rows = fx().indptr.size() - 1;
  for (std::size_t chunk : {std::size_t(1), std::size_t(7), rows}) {
    FilterCounter counter(fx().n_genes, fx().params);
    for (std::size_t r0 = 0; r0 < rows; r0 += chunk) {
      const std::size_t n = std::min(chunk, rows - r0);
      const int64_t at = fx().indptr[r0];
      ASSERT_TRUE(counter.add_rows(fx().indptr.data() + r0, fx().indices.data() + at, fx().data.data() + at, n).is_ok());
    }
    EXPECT_EQ(counter.rows_seen(), static_cast<int64_t>(rows));
    expect_decision(counter.finish());
  }
}

TEST(FilterCounter, DenseRowsGiveTheSameDecision) {
  FilterCounter counter(fx().n_genes, fx().params);
  const std::size_t rows = fx().indptr.size() - 1;
  for (std::size_t r = 0; r < rows; ++r) {
    std::vector<float> dense(fx().n_genes, 0.0f);
    for (int64_t i = fx().indptr[r]; i < fx().indptr[r + 1]; ++i) dense[fx().indices[i]] = static_cast<float>(fx().data[i]);
    counter.add_dense_row(dense.data());
  }
  expect_decision(counter.finish());
}

TEST(FilterCounter, BadChunksAreErrors) {
  FilterCounter counter(4, FilterParams{});
  const int64_t indptr[] = {0, 1};
  const int32_t bad_index[] = {4};
  const float one[] = {1.0f};
  const auto st = counter.add_rows(indptr, bad_index, one, 1);
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("gene index 4; expected 0 <= index < 4"), std::string::npos) << st.message();
  const int64_t decreasing[] = {3, 2};
  EXPECT_FALSE(counter.add_rows(decreasing, bad_index, one, 1).is_ok());
}

TEST(CountChecker, FindsNonIntegerNegativeAndNaN) {
  CountChecker all, a, b;
  const std::size_t rows = fx().indptr.size() - 1;
  for (std::size_t r = 0; r < rows; ++r) {
    const int64_t at = fx().indptr[r];
    const auto n = static_cast<std::size_t>(fx().indptr[r + 1] - at);
    all.check_row(static_cast<int64_t>(r), fx().indices.data() + at, fx().data.data() + at, n);
    (r % 2 ? a : b).check_row(static_cast<int64_t>(r), fx().indices.data() + at, fx().data.data() + at, n);
  }
  EXPECT_EQ(all.non_integer().count, fx().j["non_integer"].get<int64_t>());
  EXPECT_EQ(all.negative().count, fx().j["negative"].get<int64_t>());
  EXPECT_EQ(all.not_finite().count, fx().j["not_finite"].get<int64_t>());
  EXPECT_EQ(all.non_integer().first_row, 3);
  EXPECT_EQ(all.non_integer().first_gene, 4);
  EXPECT_EQ(all.non_integer().first_value, 0.5);
  a.merge(b);
  EXPECT_EQ(a.non_integer().count, all.non_integer().count);
  EXPECT_EQ(a.non_integer().first_row, 3);
  EXPECT_EQ(a.negative().first_row, 7);

  EXPECT_TRUE(all.verdict(CountPolicy::kWarn, "X").is_ok());
  const auto refused = all.verdict(CountPolicy::kRefuse, "data.h5ad:X");
  ASSERT_FALSE(refused.is_ok());
  EXPECT_NE(refused.message().find("data.h5ad:X: 2 non-integer value(s) (first: row 3, gene 4, 0.5)"), std::string::npos)
      << refused.message();
  EXPECT_EQ(CountChecker().summary("X"), "");
  EXPECT_TRUE(CountChecker().verdict(CountPolicy::kRefuse, "X").is_ok());

  CountChecker ints;
  const int32_t idx[] = {0, 1};
  const int32_t vals[] = {3, -1};
  ints.check_row(0, idx, vals, 2);
  EXPECT_EQ(ints.negative().count, 1);
  EXPECT_EQ(ints.non_integer().count, 0);
}

TEST(CountChecker, OfficialTruncationThroughFloat32) {
  for (const auto& pair : fx().j["truncation"]) {
    EXPECT_EQ(official_count(pair[0].get<double>()), pair[1].get<int64_t>()) << pair[0];
  }
  EXPECT_EQ(official_count(std::nan("")), 0);
  EXPECT_EQ(official_count(1e30), std::numeric_limits<int64_t>::max());
}

TEST(CountChecker, PolicyNames) {
  EXPECT_EQ(*parse_count_policy("warn"), CountPolicy::kWarn);
  EXPECT_EQ(*parse_count_policy("refuse"), CountPolicy::kRefuse);
  EXPECT_FALSE(parse_count_policy("ignore").is_ok());
}
