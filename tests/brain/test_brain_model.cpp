// The UCE-brain forward pass against the float64 PyTorch reference (tests/reference/
// make_brain_fixtures.py): every stage and layer of one cell, and the embeddings of a batch of 4
// cells, for each tiny model, on every backend that loads here.
// Thresholds: normalised error <= 1e-10 on the reference backend, <= 1e-6 on the others; final
// embeddings within L2 distance 1e-5 per cell.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>

#include "brain_test_support.hpp"
#include "uce/executor.hpp"
#include "uce/uce_brain_runner.hpp"

namespace {
using namespace brain_test;
using uce::test::NpyArray;
using uce::test::read_npy;

constexpr int64_t kPad = 64;
constexpr int kCell = 3;  // make_brain_fixtures.py CELL

std::shared_ptr<uce::BrainModel> load(const std::string& name, uce::BrainPadRows pad_rows = uce::BrainPadRows::kAuto) {
  uce::BrainModelOptions o;
  o.model_dir = model_dir(name);
  o.pad_rows = pad_rows;
  auto m = uce::BrainModel::load(o, nullptr);
  EXPECT_TRUE(m) << m.message();
  return m ? *m : nullptr;
}

// The batch's sentences: real tokens only (the runner pads when the readout needs it).
std::vector<std::vector<int64_t>> sentences() {
  const NpyArray t = read_npy(kDir + "/tokens.npy"), len = read_npy(kDir + "/lengths.npy");
  std::vector<std::vector<int64_t>> out(static_cast<size_t>(t.shape[0]));
  for (int64_t b = 0; b < t.shape[0]; ++b)
    for (int64_t i = 0; i < static_cast<int64_t>(len.data[b]); ++i)
      out[b].push_back(static_cast<int64_t>(t.data[b * t.shape[1] + i]));
  return out;
}

std::unique_ptr<uce::BrainRunner> make_runner(const std::shared_ptr<uce::BrainModel>& model, uce::Backend* b,
                                              const std::vector<std::vector<int64_t>>& batch, int64_t max_sequences,
                                              const std::vector<std::string>& keep = {}) {
  std::vector<int64_t> needed;
  for (const auto& s : batch) needed.insert(needed.end(), s.begin(), s.end());
  uce::BrainRunnerOptions ro;
  ro.rules.default_order = {b->name()};
  ro.max_sequences = max_sequences;
  ro.pad_token = 0;
  ro.pad_length = kPad;
  ro.token_chunk = 16;  // several chunks even for the tiny fixtures
  ro.keep = keep;
  auto r = uce::BrainRunner::create(model, {b}, needed, ro, nullptr);
  EXPECT_TRUE(r) << r.message();
  return r ? r.take() : nullptr;
}

// Compares `got` (rows x cols floats) with the reference; a single CLS row is compared with the
// reference's row 0 (the last layer of a cls model computes only that row).
void expect_close(const std::vector<float>& got, const NpyArray& want, double tol, const std::string& what,
                  bool allow_cls_row = false, double scale = 1.0) {
  const int64_t cols = want.shape.size() > 1 ? want.shape.back() : want.size();
  int64_t n = want.size();
  if (allow_cls_row && static_cast<int64_t>(got.size()) == cols) n = cols;
  ASSERT_EQ(static_cast<int64_t>(got.size()), n) << what << ": got " << got.size() << " values, reference "
                                                  << want.size();
  std::vector<double> g(got.begin(), got.end());
  for (double& v : g) v *= scale;
  const double e = uce::test::nmse(g.data(), want.data.data(), static_cast<size_t>(n));
  EXPECT_LE(e, tol) << what << ": normalised error " << e;
  for (float v : got) ASSERT_TRUE(std::isfinite(v)) << what;
}

void expect_embeddings(const std::vector<float>& got, const NpyArray& want, const std::string& what) {
  const int64_t dim = want.shape[1];
  ASSERT_EQ(static_cast<int64_t>(got.size()), want.size()) << what;
  for (int64_t c = 0; c < want.shape[0]; ++c) {
    double d2 = 0, norm2 = 0;
    for (int64_t k = 0; k < dim; ++k) {
      const double diff = got[c * dim + k] - want.data[c * dim + k];
      d2 += diff * diff;
      norm2 += static_cast<double>(got[c * dim + k]) * got[c * dim + k];
    }
    EXPECT_LE(std::sqrt(d2), 1e-5) << what << " cell " << c;
    EXPECT_NEAR(norm2, 1.0, 1e-5) << what << " cell " << c;
  }
}

const std::vector<std::string> kModels = {"post_cls", "pre_cls", "mean_post", "mean_pre", "mlp_cls"};

TEST(BrainModel, LoadsEveryFixtureWithItsConfig) {
  struct Want {
    int64_t heads, ff, hidden;
    bool final_norm;
    uce::BrainReadout readout;
  };
  const std::map<std::string, Want> want = {
      {"post_cls", {4, 64, 0, false, uce::BrainReadout::kClsPrefix}},
      {"pre_cls", {2, 48, 0, false, uce::BrainReadout::kClsPrefix}},
      {"mean_post", {4, 64, 0, false, uce::BrainReadout::kMeanZeroedPads}},
      {"mean_pre", {2, 64, 0, true, uce::BrainReadout::kMeanPadded}},
      {"mlp_cls", {4, 128, 64, false, uce::BrainReadout::kClsPrefix}},
  };
  for (const auto& name : kModels) {
    auto m = load(name);
    ASSERT_TRUE(m) << name;
    const auto& d = m->dims();
    const Want& w = want.at(name);
    EXPECT_EQ(d.token_dim, 64) << name;
    EXPECT_EQ(d.d_model, 32) << name;
    EXPECT_EQ(d.heads, w.heads) << name;
    EXPECT_EQ(d.d_ff, w.ff) << name;
    EXPECT_EQ(d.layers, 2) << name;
    EXPECT_EQ(d.output_dim, 24) << name;
    EXPECT_EQ(d.max_positions, 72) << name;
    EXPECT_EQ(d.table_rows, 200) << name;
    EXPECT_EQ(d.projector_hidden, w.hidden) << name;
    EXPECT_EQ(d.final_norm, w.final_norm) << name;
    EXPECT_EQ(m->readout(), w.readout) << name;
  }
  EXPECT_EQ(load("mean_post", uce::BrainPadRows::kComputed)->readout(), uce::BrainReadout::kMeanPadded);
}

// The per-token stages (embedding LayerNorm, projector) of the layer-by-layer cell.
TEST(BrainModel, TokenStagesMatchPyTorch) {
  const auto batch = sentences();
  const NpyArray tokens = read_npy(kDir + "/tokens.npy");
  for (const auto& name : kModels) {
    auto model = load(name);
    ASSERT_TRUE(model);
    const std::string cell = model_dir(name) + "/cell/";
    const NpyArray projected = read_npy(cell + "step2_projected.npy");
    const int64_t rows = projected.shape[0];  // real rows, or all pad_length rows when padded
    std::vector<float> input(static_cast<size_t>(rows * 64));
    const auto* table = static_cast<const char*>(model->token_table().data);
    for (int64_t i = 0; i < rows; ++i) {
      const auto id = static_cast<int64_t>(tokens.data[kCell * tokens.shape[1] + i]);
      std::memcpy(&input[i * 64], table + id * 64 * sizeof(float), 64 * sizeof(float));
    }
    const uce::Graph g = model->token_graph();
    std::vector<std::string> keep = {"tokens.proj.0"};
    if (model->config().use_embedding_layer_norm) keep.push_back("tokens.embed_norm");
    for (auto& b : backends().open) {
      SCOPED_TRACE(name + " on " + b->name());
      uce::AssignmentRules rules;
      rules.default_order = {b->name()};
      auto ex = uce::Executor::create(g, {b.get()}, rules, rows, 1, keep);
      ASSERT_TRUE(ex) << ex.message();
      ASSERT_TRUE((*ex)->run(rows, 1, {{g.find_value("tokens.rows"), input.data()}}));
      const double tol = tolerance(*b);
      std::vector<float> got;
      if (model->config().use_embedding_layer_norm) {
        ASSERT_TRUE((*ex)->read("tokens.embed_norm", got));
        expect_close(got, read_npy(cell + "step1_embed_norm.npy"), tol, "step1_embed_norm");
      }
      ASSERT_TRUE((*ex)->read("tokens.proj.0", got));
      expect_close(got, read_npy(cell + "step2_proj0.npy"), tol, "step2_proj0");
      ASSERT_TRUE((*ex)->read("tokens.projected", got));
      expect_close(got, projected, tol, "step2_projected");
    }
  }
}

// One cell through the cell graph: every kept stage against the reference.
TEST(BrainModel, OneCellMatchesPyTorchLayerByLayer) {
  const auto batch = sentences();
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"embed.pe", "step3_pos"},           {"layer0.attn.qkv", "layer0_qkv"},   {"layer0.attn", "layer0_attn"},
      {"layer0.attn.out", "layer0_attn_out"}, {"layer0.norm1", "layer0_norm1"}, {"layer0.ffn.up", "layer0_ffn_up"},
      {"layer0.norm2", "layer0_norm2"},    {"layer0.out", "layer0_out"},        {"layer1.attn.out", "layer1_attn_out"},
      {"layer1.out", "layer1_out"},        {"encoder.norm", "encoder_norm"},    {"output.projected", "output_projected"},
      {"output.pooled", "output_pooled"}};
  for (const auto& name : kModels) {
    auto model = load(name);
    ASSERT_TRUE(model);
    const std::string cell = model_dir(name) + "/cell/";
    std::vector<std::pair<std::string, std::string>> present;
    std::vector<std::string> keep;
    for (const auto& [value, file] : pairs) {
      if (!std::filesystem::exists(cell + file + ".npy")) continue;
      if (value == "output.pooled" && model->readout() == uce::BrainReadout::kClsPrefix) continue;  // CLS row
      present.emplace_back(value, file);
      keep.push_back(value);
    }
    ASSERT_GE(present.size(), 9u) << name;
    const std::vector<std::vector<int64_t>> one = {batch[kCell]};
    const double n = static_cast<double>(batch[kCell].size());
    for (auto& b : backends().open) {
      SCOPED_TRACE(name + " on " + b->name());
      auto runner = make_runner(model, b.get(), one, 1, keep);
      ASSERT_TRUE(runner);
      std::vector<float> emb;
      ASSERT_TRUE(runner->embed({&one[0]}, emb));
      for (const auto& [value, file] : present) {
        std::vector<float> got;
        ASSERT_TRUE(runner->cell_executor().read(value, got)) << value;
        // zeroed pad rows: the graph's pooled value is the P-row mean scaled by P / n
        const double scale =
            value == "output.pooled" && model->readout() == uce::BrainReadout::kMeanZeroedPads ? n / kPad : 1.0;
        expect_close(got, read_npy(cell + file + ".npy"), tolerance(*b), file, /*allow_cls_row=*/true, scale);
      }
      const NpyArray all = read_npy(model_dir(name) + "/embedding.npy");
      NpyArray mine;
      mine.shape = {1, all.shape[1]};
      mine.data.assign(all.data.begin() + kCell * all.shape[1], all.data.begin() + (kCell + 1) * all.shape[1]);
      expect_embeddings(emb, mine, "embedding");
    }
  }
}

// The whole batch, packed into one run and split over several: the same embeddings (no cross-talk,
// no dependence on grouping), equal to PyTorch's padded batch.
TEST(BrainModel, BatchEmbeddingsMatchPyTorchHoweverGrouped) {
  const auto batch = sentences();
  std::vector<const std::vector<int64_t>*> ptrs;
  for (const auto& s : batch) ptrs.push_back(&s);
  for (const auto& name : kModels) {
    auto model = load(name);
    ASSERT_TRUE(model);
    const NpyArray want = read_npy(model_dir(name) + "/embedding.npy");
    for (auto& b : backends().open) {
      for (int64_t per_batch : {4, 3, 1}) {
        SCOPED_TRACE(name + " on " + b->name() + ", " + std::to_string(per_batch) + " cells per batch");
        auto runner = make_runner(model, b.get(), batch, per_batch);
        ASSERT_TRUE(runner);
        std::vector<float> emb;
        ASSERT_TRUE(runner->embed(ptrs, emb));
        expect_embeddings(emb, want, "embedding");
      }
    }
  }
}

// "mean" with padded rows computed (PyTorch without its fast path) differs from the zeroed rows
// of the eval fast path; both are reproduced.
TEST(BrainModel, MeanReadoutWithComputedPadRows) {
  const auto batch = sentences();
  std::vector<const std::vector<int64_t>*> ptrs;
  for (const auto& s : batch) ptrs.push_back(&s);
  auto model = load("mean_post", uce::BrainPadRows::kComputed);
  ASSERT_TRUE(model);
  const NpyArray want = read_npy(model_dir("mean_post") + "/embedding_computed.npy");
  const NpyArray zeroed = read_npy(model_dir("mean_post") + "/embedding.npy");
  double differ = 0;
  for (int64_t i = 0; i < want.size(); ++i) differ = std::max(differ, std::abs(want.data[i] - zeroed.data[i]));
  EXPECT_GT(differ, 1e-3) << "the fixture should tell the two pad-row semantics apart";
  for (auto& b : backends().open) {
    SCOPED_TRACE(b->name());
    auto runner = make_runner(model, b.get(), batch, 2);
    ASSERT_TRUE(runner);
    std::vector<float> emb;
    ASSERT_TRUE(runner->embed(ptrs, emb));
    expect_embeddings(emb, want, "embedding (computed pad rows)");
  }
}

TEST(BrainRunner, RejectsWhatTheModelCannotRun) {
  auto model = load("post_cls");
  ASSERT_TRUE(model);
  uce::Backend* b = backends().open.front().get();
  uce::BrainRunnerOptions ro;
  ro.rules.default_order = {b->name()};
  ro.max_sequences = 2;
  ro.pad_length = kPad;
  auto bad_id = uce::BrainRunner::create(model, {b}, {1, 2, 200}, ro, nullptr);
  ASSERT_FALSE(bad_id);
  EXPECT_NE(bad_id.message().find("token id 200 is outside the vocabulary"), std::string::npos) << bad_id.message();
  ro.pad_length = 100;
  auto too_long = uce::BrainRunner::create(model, {b}, {1, 2}, ro, nullptr);
  ASSERT_FALSE(too_long);
  EXPECT_NE(too_long.message().find("exceeds the model's 72 positions"), std::string::npos) << too_long.message();
  ro.pad_length = 8;
  auto r = uce::BrainRunner::create(model, {b}, {1, 2, 5}, ro, nullptr);
  ASSERT_TRUE(r) << r.message();
  const std::vector<int64_t> nine = {1, 5, 5, 5, 5, 5, 5, 5, 2};
  std::vector<float> emb;
  auto s = (*r)->embed({&nine}, emb);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("pad_length is 8"), std::string::npos) << s.message();
  const std::vector<int64_t> unknown = {1, 7, 2};
  s = (*r)->embed({&unknown}, emb);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("token 7 was not prepared"), std::string::npos) << s.message();
}

}  // namespace

namespace {
// The comparisons above run on every backend that opens; the built-in reference must be one.
TEST(BrainBackends, ReferenceAndPluginsOpen) {
  std::string names;
  bool reference = false;
  for (auto& b : brain_test::backends().open) {
    names += " " + b->name();
    reference = reference || b->name() == "reference";
  }
  std::cout << "[ backends ]" << names << "\n";
  EXPECT_TRUE(reference) << names;
}
}  // namespace
