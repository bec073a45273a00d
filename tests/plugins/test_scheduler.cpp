// Scheduler and executor tests: assignment rules, capability checks, planned copies between a
// host backend (reference) and a "device" backend (the minimal example, which hides its memory).
#include <gtest/gtest.h>

#include <cmath>

#include "uce/backend.hpp"
#include "uce/executor.hpp"
#include "uce/plugin_loader.hpp"

namespace {
const std::string kDir = UCE_FIXTURE_PLUGIN_DIR;

struct Fixture : ::testing::Test {
  uce::PluginRegistry reg;
  std::unique_ptr<uce::Backend> reference, minimal;
  std::vector<float> bias = {0.5f, -1.0f, 2.0f};
  uce::Graph graph;
  int x = -1;
  void SetUp() override {
    uce_backend_options o{};
    o.struct_size = sizeof(o);
    o.device_index = -1;
    auto h = reg.load_file(kDir + "/uce_backend_minimal.so");
    ASSERT_TRUE(h) << h.message();
    minimal = uce::Backend::open(*h, o).take();
    reference = uce::Backend::open(uce::reference_backend_header(), o).take();
    // y = gelu((x + bias_rows) * 2): add and scale can run on minimal, gelu cannot.
    x = graph.add_input("x", UCE_F32, uce::RowCount::tokens(), 3);
    const int b = graph.add_input("b", UCE_F32, uce::RowCount::tokens(), 3);
    uce::Node add{"add", UCE_OP_ADD, UCE_ACT_NONE, 0, 0.f, 1.f, {x, b}, -1};
    const int s = graph.add_node(add, uce::RowCount::tokens(), 3);
    uce::Node scale{"scale", UCE_OP_SCALE, UCE_ACT_NONE, 0, 0.f, 2.f, {s}, -1};
    const int t = graph.add_node(scale, uce::RowCount::tokens(), 3);
    uce::Node gelu{"gelu", UCE_OP_GELU, UCE_ACT_NONE, 0, 0.f, 1.f, {t}, -1};
    graph.mark_output(graph.add_node(gelu, uce::RowCount::tokens(), 3));
  }
  std::vector<uce::Backend*> both() { return {minimal.get(), reference.get()}; }
};

double gelu(double v) { return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))); }

TEST_F(Fixture, DefaultOrderFallsBackWithTheReasonAndCopiesAcrossBackends) {
  uce::AssignmentRules rules;
  rules.default_order = {"minimal", "reference"};
  auto ex = uce::Executor::create(graph, both(), rules, 4, 1);
  ASSERT_TRUE(ex) << ex.message();
  const auto& plan = (*ex)->plan();
  ASSERT_EQ(plan.nodes.size(), 3u);
  EXPECT_EQ(plan.nodes[0].backend, "minimal");
  EXPECT_EQ(plan.nodes[1].backend, "minimal");
  EXPECT_EQ(plan.nodes[2].backend, "reference");
  EXPECT_NE(plan.nodes[2].reason.find("minimal backend runs only add and scale"), std::string::npos);
  // Inputs are uploaded to minimal, and scale's output copied back to host memory for gelu.
  int64_t per_batch = 0;
  for (const auto& c : plan.copies)
    if (!c.zero_copy && !c.once) per_batch += c.bytes_per_batch;
  EXPECT_EQ(per_batch, 3 * 4 * 3 * 4);  // x, b and scale's output: 4 rows x 3 f32 each
  EXPECT_NE(plan.to_text().find("scale: minimal -> reference"), std::string::npos) << plan.to_text();

  std::vector<float> xs = {1, 2, 3, -1, -2, -3, 0.25f, 0.5f, 0.75f};
  std::vector<float> bs = {0.5f, -1, 2, 0.5f, -1, 2, 0.5f, -1, 2};
  const int b = graph.find_value("b");
  ASSERT_TRUE((*ex)->run(3, 1, {{x, xs.data()}, {b, bs.data()}}));
  std::vector<float> out;
  ASSERT_TRUE((*ex)->read("gelu", out));
  ASSERT_EQ(out.size(), 9u);
  for (size_t i = 0; i < 9; ++i) EXPECT_NEAR(out[i], gelu((xs[i] + bs[i]) * 2.0), 1e-6) << i;
}

TEST_F(Fixture, ExplicitChoiceThatCannotRunIsAnError) {
  uce::AssignmentRules rules;
  rules.default_order = {"reference"};
  rules.op_backend[UCE_OP_GELU] = "minimal";
  auto ex = uce::Executor::create(graph, both(), rules, 4, 1);
  ASSERT_FALSE(ex);
  EXPECT_NE(ex.message().find("[ops] gelu = 'minimal', but that backend cannot run it"), std::string::npos) << ex.message();
}

TEST_F(Fixture, NodeOverrideWinsOverOpMapping) {
  uce::AssignmentRules rules;
  rules.default_order = {"minimal", "reference"};
  rules.op_backend[UCE_OP_ADD] = "minimal";
  rules.node_backend["add"] = "reference";
  auto ex = uce::Executor::create(graph, both(), rules, 4, 1);
  ASSERT_TRUE(ex) << ex.message();
  EXPECT_EQ((*ex)->plan().nodes[0].backend, "reference");
  EXPECT_EQ((*ex)->plan().nodes[0].reason, "[nodes] override");
}

TEST_F(Fixture, UnknownBackendNameIsAnError) {
  uce::AssignmentRules rules;
  rules.default_order = {"reference"};
  rules.node_backend["scale"] = "vulkan";
  auto ex = uce::Executor::create(graph, both(), rules, 4, 1);
  ASSERT_FALSE(ex);
  EXPECT_NE(ex.message().find("'vulkan', which is not open"), std::string::npos) << ex.message();
}

TEST_F(Fixture, HostBackendsShareMemoryWithoutCopies) {
  uce::AssignmentRules rules;
  rules.default_order = {"reference"};
  auto ex = uce::Executor::create(graph, {reference.get()}, rules, 4, 1);
  ASSERT_TRUE(ex) << ex.message();
  for (const auto& c : (*ex)->plan().copies) EXPECT_TRUE(c.zero_copy) << c.value;
}

TEST_F(Fixture, BatchLargerThanThePlanIsRefused) {
  uce::AssignmentRules rules;
  rules.default_order = {"reference"};
  auto ex = uce::Executor::create(graph, {reference.get()}, rules, 2, 1);
  ASSERT_TRUE(ex);
  std::vector<float> xs(9), bs(9);
  auto st = (*ex)->run(3, 1, {{x, xs.data()}, {graph.find_value("b"), bs.data()}});
  ASSERT_FALSE(st);
  EXPECT_NE(st.message().find("exceeds the plan"), std::string::npos);
}
}  // namespace
