// config.json parsing (every hyper-parameter, defaults of UCEConfig's signature, one-line errors
// naming file and key) and the token layout's priority: run config > config.json > pilot.
#include <gtest/gtest.h>

#include "brain_test_support.hpp"
#include "uce/uce_brain_config.hpp"

namespace {
using namespace brain_test;

void expect_error(const uce::Result<uce::BrainConfig>& r, const std::vector<std::string>& parts) {
  ASSERT_FALSE(r) << "expected an error";
  for (const auto& p : parts) EXPECT_NE(r.message().find(p), std::string::npos) << r.message();
  EXPECT_EQ(r.message().find('\n'), std::string::npos) << "one line: " << r.message();
}

TEST(BrainConfig, ReadsEveryKeyOfAFixture) {
  auto c = uce::read_brain_config(model_dir("pre_cls") + "/config.json");
  ASSERT_TRUE(c) << c.message();
  EXPECT_EQ(c->vocab_size, 200);
  EXPECT_EQ(c->embedding_dim, 64);
  EXPECT_EQ(c->d_model, 32);
  EXPECT_EQ(c->nhead, 2);
  EXPECT_EQ(c->num_layers, 2);
  EXPECT_EQ(c->dim_feedforward, 48);
  EXPECT_EQ(c->activation, "relu");
  EXPECT_EQ(c->max_sequence_length, 72);
  EXPECT_EQ(c->positional_encoding_type, "learned");
  EXPECT_EQ(c->embedding_reduction, "cls");
  EXPECT_EQ(c->output_embedding_dim, 24);
  EXPECT_TRUE(c->norm_first);
  EXPECT_TRUE(c->use_embedding_layer_norm);
  EXPECT_EQ(c->input_projection_type, "linear");
  EXPECT_FALSE(c->cls_token_idx.has_value());
  EXPECT_EQ(c->model_type, "uce");
}

TEST(BrainConfig, AbsentKeysTakeTheSignatureDefaults) {
  auto c = uce::parse_brain_config(R"({"nhead": 4})", "cfg.json");
  ASSERT_TRUE(c) << c.message();
  EXPECT_EQ(c->vocab_size, 145469);
  EXPECT_EQ(c->embedding_dim, 5120);
  EXPECT_EQ(c->d_model, 512);
  EXPECT_EQ(c->num_layers, 4);
  EXPECT_EQ(c->dim_feedforward, 2048);  // None -> d_model * expansion_factor
  EXPECT_EQ(c->activation, "gelu");
  EXPECT_EQ(c->max_sequence_length, 10000);
  EXPECT_EQ(c->embedding_reduction, "cls");
  EXPECT_EQ(c->output_embedding_dim, 512);
  EXPECT_FALSE(c->norm_first);
  EXPECT_EQ(c->input_projection_type, "linear");
  EXPECT_EQ(c->input_projection_expansion_factor, 4);
  EXPECT_TRUE(c->use_embedding_layer_norm);
  // dim_feedforward null (as HF may write it) also means d_model * expansion_factor
  auto n = uce::parse_brain_config(R"({"nhead": 4, "d_model": 64, "expansion_factor": 3, "dim_feedforward": null})", "c");
  ASSERT_TRUE(n) << n.message();
  EXPECT_EQ(n->dim_feedforward, 192);
  // mlp_cls omits dim_feedforward: 32 * 4
  auto m = uce::read_brain_config(model_dir("mlp_cls") + "/config.json");
  ASSERT_TRUE(m) << m.message();
  EXPECT_EQ(m->dim_feedforward, 128);
  EXPECT_EQ(m->input_projection_type, "mlp");
  EXPECT_EQ(m->input_projection_expansion_factor, 2);
  EXPECT_FALSE(m->use_embedding_layer_norm);
}

TEST(BrainConfig, ErrorsNameFileAndKey) {
  expect_error(uce::parse_brain_config(R"({"d_model": 32})", "a/config.json"), {"a/config.json", "'nhead'", "missing"});
  expect_error(uce::parse_brain_config(R"({"nhead": 3, "d_model": 32})", "c.json"), {"c.json", "'nhead'", "divisible"});
  expect_error(uce::parse_brain_config(R"({"nhead": "4"})", "c.json"), {"c.json", "'nhead'", "expected an integer"});
  expect_error(uce::parse_brain_config(R"({"nhead": 4, "d_model": 0})", "c.json"), {"'d_model'", ">= 1"});
  expect_error(uce::parse_brain_config(R"({"nhead": 4, "num_layers": 2.5})", "c.json"), {"'num_layers'"});
  expect_error(uce::parse_brain_config(R"({"nhead": 4, "embedding_reduction": "max"})", "c.json"),
               {"'embedding_reduction'", "\"max\"", "\"cls\", \"mean\""});
  expect_error(uce::parse_brain_config(R"({"nhead": 4, "activation": "swish"})", "c.json"), {"'activation'"});
  expect_error(uce::parse_brain_config(R"({"nhead": 4, "norm_first": "yes"})", "c.json"), {"'norm_first'", "true or false"});
  expect_error(uce::parse_brain_config(R"({"nhead": 4, "input_projection_type": "conv"})", "c.json"),
               {"'input_projection_type'"});
  expect_error(uce::parse_brain_config(R"({"nhead": 4, "positional_encoding_type": "rope"})", "c.json"),
               {"'positional_encoding_type'"});
  expect_error(uce::parse_brain_config(R"({"nhead": 4,)", "c.json"), {"c.json", "not valid JSON"});
  expect_error(uce::parse_brain_config(R"([1, 2])", "c.json"), {"c.json", "not a JSON object"});
  expect_error(uce::read_brain_config(kDir + "/no_such_dir/config.json"), {"no_such_dir/config.json", "cannot open"});
}

TEST(BrainTokenLayout, RunConfigThenConfigJsonThenPilotDefaults) {
  auto c = uce::read_brain_config(model_dir("post_cls") + "/config.json");
  ASSERT_TRUE(c) << c.message();
  auto l = uce::resolve_brain_token_layout(*c, {});
  ASSERT_TRUE(l) << l.message();
  EXPECT_EQ(l->cls_token, 1);
  EXPECT_EQ(l->chrom_token_offset, 180);
  EXPECT_EQ(l->chrom_close_token, 2);
  EXPECT_EQ(l->pad_token, 0);
  EXPECT_EQ(l->pad_length, 64);
  EXPECT_EQ(l->sample_size, 40);
  EXPECT_NE(l->description.find("chrom_token_offset 180 (config.json 'chrom_token_offset')"), std::string::npos)
      << l->description;
  uce::BrainTokenOverrides o;
  o.chrom_token_offset = 150;
  o.pad_length = 60;
  auto l2 = uce::resolve_brain_token_layout(*c, o);
  ASSERT_TRUE(l2) << l2.message();
  EXPECT_EQ(l2->chrom_token_offset, 150);
  EXPECT_EQ(l2->pad_length, 60);
  EXPECT_EQ(l2->cls_token, 1);
  EXPECT_NE(l2->description.find("chrom_token_offset 150 (run config)"), std::string::npos) << l2->description;

  // Pilot defaults for a config without layout keys.
  auto big = uce::parse_brain_config(R"({"nhead": 4})", "pilot.json");
  ASSERT_TRUE(big);
  auto p = uce::resolve_brain_token_layout(*big, {});
  ASSERT_TRUE(p) << p.message();
  EXPECT_EQ(p->cls_token, 1);
  EXPECT_EQ(p->chrom_token_offset, 1000);
  EXPECT_EQ(p->chrom_close_token, 2000);
  EXPECT_EQ(p->pad_token, 0);
  EXPECT_EQ(p->pad_length, 2048);
  EXPECT_EQ(p->sample_size, 1024);

  // The pilot's close token 2000 is outside a 200-row vocabulary: an error, not silence.
  auto tiny = uce::read_brain_config(model_dir("pre_cls") + "/config.json");
  ASSERT_TRUE(tiny);
  auto bad = uce::resolve_brain_token_layout(*tiny, {});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.message().find("chrom_close_token 2000"), std::string::npos) << bad.message();
  uce::BrainTokenOverrides too_long;
  too_long.chrom_close_token = 2;
  too_long.chrom_token_offset = 180;
  too_long.sample_size = 64;
  too_long.pad_length = 64;
  auto bad2 = uce::resolve_brain_token_layout(*tiny, too_long);
  ASSERT_FALSE(bad2);
  EXPECT_NE(bad2.message().find("does not fit"), std::string::npos) << bad2.message();
}

}  // namespace
