// Hostile or inconsistent checkpoints: broken safetensors files and config.json values that do
// not match the weights give one clear line naming the file and the key, never a crash.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "brain_test_support.hpp"
#include "uce/uce_brain_model.hpp"

namespace {
using namespace brain_test;

void expect_one_line(const std::string& message, const std::vector<std::string>& parts) {
  for (const auto& p : parts) EXPECT_NE(message.find(p), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

uce::Result<std::shared_ptr<uce::BrainModel>> load_with(const std::string& config, const std::string& weights) {
  uce::BrainModelOptions o;
  o.config_file = config;
  o.weights_file = weights;
  return uce::BrainModel::load(o, nullptr);
}

// The post_cls checkpoint's header (parsed) and data section.
struct Checkpoint {
  nlohmann::ordered_json header;
  std::vector<char> data;
  Checkpoint() {
    const std::vector<char> bytes = read_bytes(model_dir("post_cls") + "/model.safetensors");
    uint64_t n = 0;
    for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
    header = nlohmann::ordered_json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(n));
    data.assign(bytes.begin() + 8 + static_cast<std::ptrdiff_t>(n), bytes.end());
  }
  std::vector<char> image() const { return safetensors_image(header.dump(), data); }
};

const std::string kConfig = model_dir("post_cls") + "/config.json";

TEST(BrainHostile, HeaderLengthPastTheFile) {
  TempDir t;
  std::vector<char> img = safetensors_image("{}", {});
  img[0] = static_cast<char>(0x40);  // claims 64 + ... bytes of header in a 10-byte file
  img[3] = static_cast<char>(0x01);
  auto r = load_with(kConfig, t.file("model.safetensors", img));
  ASSERT_FALSE(r);
  expect_one_line(r.message(), {"model.safetensors", "header length", "runs past the end of the file"});
  auto tiny = load_with(kConfig, t.file("short.safetensors", std::string("abc")));
  ASSERT_FALSE(tiny);
  expect_one_line(tiny.message(), {"short.safetensors", "8-byte header length"});
}

TEST(BrainHostile, OverlappingAndOutOfRangeOffsets) {
  TempDir t;
  const std::vector<char> data(64, 0);
  auto overlap = load_with(kConfig, t.file("overlap.safetensors",
                                           safetensors_image(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                                                             R"("b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})",
                                                             data)));
  ASSERT_FALSE(overlap);
  expect_one_line(overlap.message(), {"overlap.safetensors", "overlap"});
  auto past = load_with(kConfig, t.file("past.safetensors",
                                        safetensors_image(R"({"a":{"dtype":"F32","shape":[32],"data_offsets":[0,128]}})",
                                                          data)));
  ASSERT_FALSE(past);
  expect_one_line(past.message(), {"past.safetensors", "'a'", "run past the data"});
  // The real checkpoint, truncated: its last tensors now run past the end.
  Checkpoint c;
  std::vector<char> img = c.image();
  img.resize(img.size() - 100);
  auto cut = load_with(kConfig, t.file("cut.safetensors", img));
  ASSERT_FALSE(cut);
  expect_one_line(cut.message(), {"cut.safetensors", "run past the data"});
}

TEST(BrainHostile, DtypeMismatches) {
  TempDir t;
  // Declared dtype and shape need 8 bytes, the offsets give 16.
  auto bytes = load_with(kConfig, t.file("bytes.safetensors",
                                         safetensors_image(R"({"a":{"dtype":"F16","shape":[4],"data_offsets":[0,16]}})",
                                                           std::vector<char>(16, 0))));
  ASSERT_FALSE(bytes);
  expect_one_line(bytes.message(), {"bytes.safetensors", "'a'", "holds 16 bytes"});
  auto unknown = load_with(kConfig, t.file("unknown.safetensors",
                                           safetensors_image(R"({"a":{"dtype":"Q4","shape":[4],"data_offsets":[0,2]}})",
                                                             std::vector<char>(2, 0))));
  ASSERT_FALSE(unknown);
  expect_one_line(unknown.message(), {"unknown.safetensors", "'Q4'"});
  // A consistent file whose output LayerNorm bias is F16: the model wants F32.
  Checkpoint c;
  auto& e = c.header["uce.output_embedding_projector.1.bias"];
  e["dtype"] = "F16";
  e["shape"] = {48};
  auto f16 = load_with(kConfig, t.file("f16.safetensors", c.image()));
  ASSERT_FALSE(f16);
  expect_one_line(f16.message(), {"f16.safetensors", "uce.output_embedding_projector.1.bias", "is F16, expected F32"});
}

TEST(BrainHostile, MissingTensorIsNamed) {
  TempDir t;
  Checkpoint c;
  c.header.erase("uce.transformer_encoder.layers.1.linear2.bias");
  auto r = load_with(kConfig, t.file("m.safetensors", c.image()));
  ASSERT_FALSE(r);
  expect_one_line(r.message(), {"m.safetensors", "has no tensor 'uce.transformer_encoder.layers.1.linear2.bias'"});
}

TEST(BrainHostile, ConfigThatDisagreesWithTheWeights) {
  const std::string weights = model_dir("post_cls") + "/model.safetensors";
  const auto base = nlohmann::ordered_json::parse(read_text(kConfig));
  struct Case {
    std::string key;
    nlohmann::ordered_json value;
    std::vector<std::string> parts;
  };
  const std::vector<Case> cases = {
      {"num_layers", 3, {"'num_layers' is 3", "has 2 transformer_encoder.layers"}},
      {"dim_feedforward", 99, {"linear1.weight", "'dim_feedforward' 99"}},
      {"vocab_size", 300, {"embedding_layer.embedding.weight", "'vocab_size' 300"}},
      {"d_model", 48, {"'d_model' 48"}},
      {"output_embedding_dim", 16, {"output_embedding_projector.0.weight", "'output_embedding_dim' 16"}},
      {"input_projection_type", "mlp", {"'input_projection_type' is \"mlp\"", "2.weight"}},
      {"use_embedding_layer_norm", false, {"'use_embedding_layer_norm' is false"}},
      {"positional_encoding_type", "learned", {"pos_encoder.pe", "'positional_encoding_type' \"learned\""}},
      {"nhead", nullptr, {"'nhead' is missing"}},
  };
  for (const auto& c : cases) {
    TempDir t;
    auto cfg = base;
    if (c.value.is_null()) cfg.erase(c.key);
    else cfg[c.key] = c.value;
    const std::string path = t.file("config.json", cfg.dump(1));
    auto r = load_with(path, weights);
    ASSERT_FALSE(r) << c.key;
    auto parts = c.parts;
    parts.push_back("config.json");
    expect_one_line(r.message(), parts);
  }
}

}  // namespace
