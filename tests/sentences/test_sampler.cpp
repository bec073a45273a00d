// The sampler against numpy (fixtures from tests/reference/make_sentence_fixtures.py).
#include <gtest/gtest.h>
#include <tbb/parallel_for.h>
#include <tbb/enumerable_thread_specific.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <random>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "fixtures.hpp"
#include "uce/sentences/sampler.hpp"

using namespace uce::sentences;

namespace {

struct Csr {
  std::vector<int64_t> indptr, indices, data;
  std::size_t rows() const { return indptr.size() - 1; }
};

struct FixtureRun {
  std::string name, mode;
  uint64_t seed = 0;
  int32_t sample_size = 0;
  std::vector<int64_t> offsets;  // per row, into expected
  std::vector<int64_t> lengths;
  std::vector<int32_t> expected;
};

struct Fixture {
  GeneTable genes;
  SentenceParams params;
  Csr counts;
  std::vector<FixtureRun> runs;
  std::set<int64_t> tie_tokens;
  std::vector<int64_t> prob_lengths;
  std::vector<float> probs;
};

const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture fx;
    const auto j = fixtures::read_json("cells.json");
    fx.genes.token = j["genes"]["token"].get<std::vector<int64_t>>();
    fx.genes.chrom = j["genes"]["chrom"].get<std::vector<int32_t>>();
    fx.genes.start = j["genes"]["start"].get<std::vector<int64_t>>();
    fx.params.cls_token = j["params"]["cls_token"];
    fx.params.close_token = j["params"]["close_token"];
    fx.params.pad_token = j["params"]["pad_token"];
    fx.params.chrom_token_offset = j["params"]["chrom_token_offset"];
    fx.counts.indptr = j["counts"]["indptr"].get<std::vector<int64_t>>();
    fx.counts.indices = j["counts"]["indices"].get<std::vector<int64_t>>();
    fx.counts.data = j["counts"]["data"].get<std::vector<int64_t>>();
    for (const auto& r : j["runs"]) {
      FixtureRun run;
      run.name = r["name"];
      run.mode = r["mode"];
      run.seed = r["seed"];
      run.sample_size = r["sample_size"];
      run.lengths = r["lengths"].get<std::vector<int64_t>>();
      int64_t at = 0;
      for (int64_t len : run.lengths) {
        run.offsets.push_back(at);
        at += len;
      }
      run.expected = fixtures::read_npy<int32_t>("expected_" + run.name + ".npy", "<i4");
      EXPECT_EQ(static_cast<int64_t>(run.expected.size()), at) << run.name;
      fx.runs.push_back(std::move(run));
    }
    for (int64_t t : j["tie_tokens"]) fx.tie_tokens.insert(t);
    fx.prob_lengths = j["prob_lengths"].get<std::vector<int64_t>>();
    fx.probs = fixtures::read_npy<float>("expected_probs.npy", "<f4");
    return fx;
  }();
  return f;
}

const FixtureRun& run_named(const std::string& name) {
  for (const FixtureRun& r : fixture().runs) {
    if (r.name == name) return r;
  }
  throw std::runtime_error("no run " + name);
}

SentenceBuilder make_builder(int32_t sample_size) {
  SentenceParams p = fixture().params;
  p.sample_size = sample_size;
  auto b = SentenceBuilder::create(fixture().genes, p);
  EXPECT_TRUE(b.is_ok()) << b.message();
  return b.take();
}

void load_row(CellWorkspace& ws, std::size_t row) {
  const Csr& c = fixture().counts;
  ws.begin_cell();
  for (int64_t i = c.indptr[row]; i < c.indptr[row + 1]; ++i) {
    ws.add(static_cast<int32_t>(c.indices[i]), c.data[i]);
  }
}

// Token for token, except that within a run of the deliberate tie genes (same chromosome, same
// start) any order is accepted (numpy's argsort is not stable; cell-sentences.md §3).
void expect_sentence(const FixtureRun& run, std::size_t row, const std::vector<int64_t>& got) {
  const int64_t len = run.lengths[row];
  ASSERT_EQ(static_cast<int64_t>(got.size()), len) << run.name << " row " << row;
  const int32_t* want = run.expected.data() + run.offsets[row];
  const auto& ties = fixture().tie_tokens;
  for (int64_t i = 0; i < len;) {
    if (ties.count(want[i]) == 0) {
      ASSERT_EQ(got[i], want[i]) << run.name << " row " << row << " position " << i;
      ++i;
      continue;
    }
    int64_t j = i;
    while (j < len && ties.count(want[j])) ++j;
    std::vector<int64_t> a(want + i, want + j), b(got.begin() + i, got.begin() + j);
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    ASSERT_EQ(a, b) << run.name << " row " << row << " tie run at " << i;
    i = j;
  }
}

template <typename MakeRng>
void check_per_cell_run(const FixtureRun& run, MakeRng make_rng) {
  const SentenceBuilder b = make_builder(run.sample_size);
  CellWorkspace ws;
  std::vector<int64_t> out;
  for (std::size_t row = 0; row < fixture().counts.rows(); ++row) {
    load_row(ws, row);
    auto rng = make_rng(row);
    const CellStatus st = build_sentence(b, ws, rng, out);
    if (run.lengths[row] == 0) {
      EXPECT_NE(st, CellStatus::kReady) << row;
      continue;
    }
    ASSERT_EQ(st, CellStatus::kReady) << row;
    expect_sentence(run, row, out);
  }
}

void check_legacy_run_serial(const FixtureRun& run) {
  const SentenceBuilder b = make_builder(run.sample_size);
  Mt19937Legacy rng(static_cast<uint32_t>(run.seed));
  CellWorkspace ws;
  std::vector<int64_t> out;
  for (std::size_t row = 0; row < fixture().counts.rows(); ++row) {
    load_row(ws, row);
    const CellStatus st = build_sentence(b, ws, rng, out);
    if (run.lengths[row] == 0) {
      EXPECT_EQ(st, CellStatus::kAllZero) << row;
      continue;
    }
    ASSERT_EQ(st, CellStatus::kReady) << row;
    EXPECT_EQ(ws.sentence_length(), out.size());
    expect_sentence(run, row, out);
  }
}

}  // namespace

TEST(SamplerFixture, TieCaseIsPresent) {
  // Row 13 draws both tie genes; otherwise the permutation-tolerant comparison is untested.
  const FixtureRun& run = run_named("legacy_seed42");
  const int32_t* s = run.expected.data() + run.offsets[13];
  std::set<int64_t> seen;
  for (int64_t i = 0; i < run.lengths[13]; ++i) {
    if (fixture().tie_tokens.count(s[i])) seen.insert(s[i]);
  }
  EXPECT_EQ(seen.size(), 2u);
}

TEST(SamplerFixture, ProbabilitiesMatchNumpyBitForBit) {
  const SentenceBuilder b = make_builder(16);
  CellWorkspace ws;
  std::size_t at = 0;
  for (std::size_t row = 0; row < fixture().counts.rows(); ++row) {
    load_row(ws, row);
    const CellStatus st = ws.prepare(b);
    const auto n = static_cast<std::size_t>(fixture().prob_lengths[row]);
    if (n == 0) {
      EXPECT_EQ(st, CellStatus::kAllZero);
      continue;
    }
    ASSERT_EQ(st, CellStatus::kReady);
    ASSERT_EQ(ws.probabilities().size(), n) << row;
    for (std::size_t j = 0; j < n; ++j) {
      uint32_t a, e;
      std::memcpy(&a, &ws.probabilities()[j], 4);
      std::memcpy(&e, &fixture().probs[at + j], 4);
      EXPECT_EQ(a, e) << "row " << row << " non-zero " << j;
    }
    at += n;
  }
  EXPECT_EQ(at, fixture().probs.size());
}

TEST(SamplerFixture, NumpyLegacySeed42) { check_legacy_run_serial(run_named("legacy_seed42")); }
TEST(SamplerFixture, NumpyLegacySeed0SampleSize200) { check_legacy_run_serial(run_named("legacy_seed0")); }

TEST(SamplerFixture, NumpyPerCell) {
  check_per_cell_run(run_named("numpy_per_cell"), [](std::size_t row) { return numpy_default_rng(row); });
}

TEST(SamplerFixture, PerCell) {
  const FixtureRun& run = run_named("per_cell_seed12345678901");
  check_per_cell_run(run, [&](std::size_t row) { return per_cell_rng(run.seed, row); });
}

TEST(SamplerFixture, NumpyLegacyThreePhasesInParallel) {
  // Phases A and C on many threads, phase B in row order: the same sentences.
  const FixtureRun& run = run_named("legacy_seed42");
  const SentenceBuilder b = make_builder(run.sample_size);
  const std::size_t n = fixture().counts.rows();
  std::vector<CellWorkspace> ws(n);
  std::vector<CellStatus> st(n);
  tbb::parallel_for(std::size_t(0), n, [&](std::size_t row) {
    load_row(ws[row], row);
    st[row] = ws[row].prepare(b);
  });
  Mt19937Legacy rng(static_cast<uint32_t>(run.seed));
  for (std::size_t row = 0; row < n; ++row) {
    if (st[row] == CellStatus::kReady) ws[row].draw(b, rng);
  }
  std::vector<std::vector<int64_t>> out(n);
  tbb::parallel_for(std::size_t(0), n, [&](std::size_t row) {
    if (st[row] == CellStatus::kReady) ws[row].assemble(b, out[row]);
  });
  for (std::size_t row = 0; row < n; ++row) {
    if (run.lengths[row] == 0) {
      EXPECT_NE(st[row], CellStatus::kReady);
      continue;
    }
    expect_sentence(run, row, out[row]);
  }
}

TEST(SamplerFixture, PerCellIndependentOfOrderAndThreads) {
  const FixtureRun& run = run_named("per_cell_seed12345678901");
  const SentenceBuilder b = make_builder(run.sample_size);
  const std::size_t n = fixture().counts.rows();
  // Rows in a shuffled order, one workspace reused (as a batch of unrelated cells would).
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t(0));
  std::shuffle(order.begin(), order.end(), std::mt19937(5));
  CellWorkspace shared_ws;
  std::vector<int64_t> out;
  for (std::size_t row : order) {
    load_row(shared_ws, row);
    auto rng = per_cell_rng(run.seed, row);
    if (build_sentence(b, shared_ws, rng, out) == CellStatus::kReady) expect_sentence(run, row, out);
  }
  // Many threads with thread-local workspaces, several times.
  for (int rep = 0; rep < 3; ++rep) {
    tbb::enumerable_thread_specific<CellWorkspace> local;
    std::vector<std::vector<int64_t>> got(n);
    tbb::parallel_for(std::size_t(0), n, [&](std::size_t row) {
      CellWorkspace& w = local.local();
      load_row(w, row);
      auto rng = per_cell_rng(run.seed, row);
      build_sentence(b, w, rng, got[row]);
    });
    for (std::size_t row = 0; row < n; ++row) {
      if (run.lengths[row] > 0) expect_sentence(run, row, got[row]);
    }
  }
}

TEST(SamplerFixture, UnsortedAndSplitEntriesGiveTheSameSentence) {
  const FixtureRun& run = run_named("numpy_per_cell");
  const SentenceBuilder b = make_builder(run.sample_size);
  const Csr& c = fixture().counts;
  CellWorkspace ws;
  std::vector<int64_t> out;
  for (std::size_t row : {0u, 13u, 21u, 30u}) {
    ws.begin_cell();
    for (int64_t i = c.indptr[row + 1] - 1; i >= c.indptr[row]; --i) {  // reversed
      const auto g = static_cast<int32_t>(c.indices[i]);
      const int64_t v = c.data[i];
      ws.add(g, v / 2);  // split into two entries, plus an explicit zero
      ws.add(g, 0);
      ws.add(g, v - v / 2);
    }
    auto rng = numpy_default_rng(row);
    ASSERT_EQ(build_sentence(b, ws, rng, out), CellStatus::kReady);
    expect_sentence(run, row, out);
  }
}

TEST(SamplerFixture, SentenceShape) {
  const FixtureRun& run = run_named("legacy_seed0");
  const auto& p = fixture().params;
  for (std::size_t row = 0; row < run.lengths.size(); ++row) {
    const int64_t len = run.lengths[row];
    if (len == 0) continue;
    const int32_t* s = run.expected.data() + run.offsets[row];
    int64_t chrom_tokens = 0;
    for (int64_t i = 0; i < len; ++i) chrom_tokens += s[i] >= p.chrom_token_offset;
    EXPECT_EQ(len, 1 + 2 * chrom_tokens + run.sample_size);
  }
}

TEST(Sampler, SingleGeneCellAndLength) {
  GeneTable t{{100, 101, 102}, {4, 0, 4}, {10, 20, 5}};
  SentenceParams p;
  p.sample_size = 5;
  p.cls_token = 1;
  p.close_token = 2000;
  p.chrom_token_offset = 1000;
  auto b = SentenceBuilder::create(t, p);
  ASSERT_TRUE(b.is_ok());
  CellWorkspace ws;
  ws.add(2, 3);
  auto rng = numpy_default_rng(1);
  std::vector<int64_t> out;
  ASSERT_EQ(build_sentence(*b, ws, rng, out), CellStatus::kReady);
  EXPECT_EQ(out, (std::vector<int64_t>{1, 1004, 102, 102, 102, 102, 102, 2000}));
  std::vector<int64_t> small(3);
  EXPECT_EQ(ws.assemble(*b, std::span<int64_t>(small)), 0u);  // too small: nothing written
}

TEST(Sampler, BadCellsAreReportedNotDrawn) {
  GeneTable t{{100, 101}, {0, 1}, {10, 20}};
  auto b = SentenceBuilder::create(t, SentenceParams{});
  ASSERT_TRUE(b.is_ok());
  CellWorkspace ws;
  ws.add(0, 0);
  EXPECT_EQ(ws.prepare(*b), CellStatus::kAllZero);
  ws.begin_cell();
  ws.add(0, 4);
  ws.add(1, -1);
  EXPECT_EQ(ws.prepare(*b), CellStatus::kNegativeCount);
  ws.begin_cell();
  ws.add(2, 4);
  EXPECT_EQ(ws.prepare(*b), CellStatus::kBadGeneIndex);
  // A skipped cell consumes no randomness.
  Mt19937Legacy rng(1), fresh(1);
  std::vector<int64_t> out;
  ws.begin_cell();
  EXPECT_EQ(build_sentence(*b, ws, rng, out), CellStatus::kAllZero);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(rng.next32(), fresh.next32());
  EXPECT_EQ(to_string(CellStatus::kNegativeCount), "negative count");
}

TEST(Sampler, BuilderRejectsBadTables) {
  EXPECT_FALSE(SentenceBuilder::create(GeneTable{{1, 2}, {0}, {1, 2}}, {}).is_ok());
  EXPECT_FALSE(SentenceBuilder::create(GeneTable{{1}, {-1}, {1}}, {}).is_ok());
  EXPECT_FALSE(SentenceBuilder::create(GeneTable{}, {}).is_ok());
  SentenceParams p;
  p.sample_size = 0;
  const auto r = SentenceBuilder::create(GeneTable{{1}, {0}, {1}}, p);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.message().find("sample_size"), std::string::npos);
}

TEST(Sampler, ModeNames) {
  EXPECT_EQ(*parse_sampler_mode("per-cell"), SamplerMode::kPerCell);
  EXPECT_EQ(*parse_sampler_mode("numpy-per-cell"), SamplerMode::kNumpyPerCell);
  EXPECT_EQ(*parse_sampler_mode("numpy-legacy"), SamplerMode::kNumpyLegacy);
  const auto bad = parse_sampler_mode("legacy");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.message().find("numpy-legacy"), std::string::npos);
  EXPECT_EQ(to_string(SamplerMode::kNumpyPerCell), "numpy-per-cell");
}

TEST(Sampler, Log1pCountIsTheFloat32RoundingOfLog1p) {
  for (int64_t c : {0LL, 1LL, 2LL, 427LL, 428LL, 4095LL, 4096LL, 1000000LL}) {
    EXPECT_EQ(log1p_count(c), static_cast<float>(std::log1p(static_cast<double>(c)))) << c;
  }
}
