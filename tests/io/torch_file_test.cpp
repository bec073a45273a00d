// Reads the real torch.save fixtures and compares with what torch itself recorded (expected.json).
#include <gtest/gtest.h>

#include <cstring>
#include <stdexcept>

#include "io_test_support.hpp"
#include "uce/uce_plugin.h"

using namespace io_test;
using uce::io::PyValue;

TEST(TorchFile, StateDictMatchesTorchInOrderWithAllDtypes) {
  auto sd = uce::io::read_torch_state_dict(fixture("tiny_model.torch"));
  ASSERT_TRUE(sd.is_ok()) << sd.message();
  const Json& want = expected()["tiny_model.torch"];
  ASSERT_EQ(sd->size(), want.size());
  size_t k = 0;
  for (const auto& [name, rec] : want.items()) {
    EXPECT_EQ((*sd)[k].first, name);
    EXPECT_EQ(compare_tensor((*sd)[k].second, rec), "") << name;
    ++k;
  }
}

TEST(TorchFile, ViewsKeepStridesOffsetsAndSharedStorage) {
  auto sd = uce::io::read_torch_state_dict(fixture("tiny_model.torch"));
  ASSERT_TRUE(sd.is_ok()) << sd.message();
  auto find = [&](const std::string& n) -> const uce::io::TensorView& {
    for (const auto& kv : sd.value()) if (kv.first == n) return kv.second;
    throw std::runtime_error("missing " + n);
  };
  const auto& tr = find("transposed");
  EXPECT_FALSE(tr.is_contiguous());
  EXPECT_TRUE(find("proj.weight").is_contiguous());
  // shared_slice / shared_strided are views of shared_full's storage: torch reports their
  // storage_offset; the reader must point into the same bytes, not copies.
  const Json& want = expected()["tiny_model.torch"];
  const auto* full = static_cast<const uint8_t*>(find("shared_full").data);
  EXPECT_EQ(static_cast<const uint8_t*>(find("shared_slice").data),
            full + 4 * want["shared_slice"]["storage_offset"].get<int64_t>());
  EXPECT_EQ(static_cast<const uint8_t*>(find("shared_strided").data),
            full + 4 * want["shared_strided"]["storage_offset"].get<int64_t>());
  EXPECT_FALSE(find("shared_strided").is_contiguous());
  EXPECT_TRUE(find("scalar_f64").shape.empty());
  EXPECT_EQ(find("scalar_f64").numel(), 1);
  // Zero copy: the data lies inside the mapping of the file.
  const auto& f = find("proj.bias").file;
  ASSERT_TRUE(f);
  EXPECT_GE(static_cast<const uint8_t*>(find("proj.bias").data), f->data());
  EXPECT_LT(static_cast<const uint8_t*>(find("proj.bias").data), f->data() + f->size());
}

TEST(TorchFile, SingleTensorFile) {
  auto t = uce::io::read_torch_tensor(fixture("all_tokens_tiny.torch"));
  ASSERT_TRUE(t.is_ok()) << t.message();
  EXPECT_EQ(compare_tensor(t.value(), expected()["all_tokens_tiny.torch"]), "");
  EXPECT_TRUE(t->is_contiguous());
}

TEST(TorchFile, GeneDictKeysInFileOrder) {
  auto keys = uce::io::read_torch_dict_keys(fixture("protein_embeddings_tiny.pt"));
  ASSERT_TRUE(keys.is_ok()) << keys.message();
  const Json& want = expected()["protein_embeddings_tiny.pt"];
  std::vector<std::string> names;
  for (const auto& [name, rec] : want.items()) names.push_back(name);
  EXPECT_EQ(keys.value(), names);
  EXPECT_EQ(names.size(), 50u);
  auto sd = uce::io::read_torch_state_dict(fixture("protein_embeddings_tiny.pt"));
  ASSERT_TRUE(sd.is_ok()) << sd.message();
  for (const auto& [name, view] : sd.value()) EXPECT_EQ(compare_tensor(view, want[name]), "") << name;
}

TEST(TorchFile, MixedPythonValuesAndParameter) {
  auto root = uce::io::read_torch_file(fixture("mixed.pt"));
  ASSERT_TRUE(root.is_ok()) << root.message();
  const PyValue& r = root.value();
  const Json& want = expected()["mixed.pt"];
  ASSERT_TRUE(r.is_dict());
  ASSERT_NE(r.find("none"), nullptr);
  EXPECT_TRUE(r.find("none")->is_none());
  EXPECT_EQ(r.find("yes")->kind, PyValue::Kind::Bool);
  EXPECT_EQ(r.find("yes")->b, want["yes"].get<bool>());
  EXPECT_EQ(r.find("no")->b, want["no"].get<bool>());
  for (const char* k : {"small", "neg", "big", "huge_neg"}) {
    ASSERT_TRUE(r.find(k)->is_int()) << k;
    EXPECT_EQ(r.find(k)->i, want[k].get<int64_t>()) << k;
  }
  EXPECT_EQ(r.find("pi")->kind, PyValue::Kind::Float);
  EXPECT_EQ(r.find("pi")->f, want["pi"].get<double>());
  EXPECT_EQ(r.find("text")->s, want["text"].get<std::string>());  // UTF-8 as pickled
  const PyValue* list = r.find("list");
  ASSERT_EQ(list->kind, PyValue::Kind::List);
  ASSERT_EQ(list->items.size(), 3u);
  EXPECT_EQ(list->items[0].i, want["list"][0].get<int64_t>());
  EXPECT_EQ(list->items[1].f, want["list"][1].get<double>());
  EXPECT_EQ(list->items[2].s, want["list"][2].get<std::string>());
  // "tuple": (1, (2, 3)) in make_io_fixtures.py (JSON has no tuples).
  const PyValue* tup = r.find("tuple");
  ASSERT_EQ(tup->kind, PyValue::Kind::Tuple);
  ASSERT_EQ(tup->items.size(), 2u);
  EXPECT_EQ(tup->items[0].i, 1);
  ASSERT_EQ(tup->items[1].kind, PyValue::Kind::Tuple);
  EXPECT_EQ(tup->items[1].items[1].i, 3);
  const PyValue* b = r.find("nested")->find("a")->find("b");
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(b->items.size(), 1u);
  EXPECT_TRUE(b->items[0].is_none());
  ASSERT_TRUE(r.find("param")->is_tensor());  // nn.Parameter -> _rebuild_parameter
  EXPECT_EQ(compare_tensor(r.find("param")->tensor, want["param"]), "");
  // Keys keep insertion order.
  std::vector<std::string> keys;
  for (const auto& kv : r.dict) keys.push_back(kv.first.s);
  EXPECT_EQ(keys.front(), "none");
  EXPECT_EQ(keys.back(), "param");
}

TEST(TorchFile, WrongRootKindsAreErrors) {
  auto t = uce::io::read_torch_tensor(fixture("tiny_model.torch"));
  ASSERT_FALSE(t.is_ok());
  EXPECT_NE(t.message().find("expected a single tensor"), std::string::npos) << t.message();
  auto sd = uce::io::read_torch_state_dict(fixture("all_tokens_tiny.torch"));
  ASSERT_FALSE(sd.is_ok());
  EXPECT_NE(sd.message().find("all_tokens_tiny.torch: root object is a tensor"), std::string::npos) << sd.message();
  auto mixed = uce::io::read_torch_state_dict(fixture("mixed.pt"));
  ASSERT_FALSE(mixed.is_ok());
  EXPECT_NE(mixed.message().find("'none' is a None (expected a tensor)"), std::string::npos) << mixed.message();
}

TEST(TorchFile, MissingFileIsAnError) {
  auto r = uce::io::read_torch_file(fixture("does_not_exist.pt"));
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.message().find("does_not_exist.pt: cannot open"), std::string::npos) << r.message();
}

TEST(TorchFile, HandWrittenClassicZipWithoutZip64) {
  // Same layout torch writes, but with a classic EOCD only (other zip writers, older torch).
  std::string data;
  for (float f : {1.0f, 2.0f, 3.0f, 4.0f}) data.append(reinterpret_cast<const char*>(&f), 4);
  Pickle p;
  p.proto(2).tensor_1d("FloatStorage", "0", 4, 1, 2, 2).stop();
  auto path = write_temp("classic.pt", make_zip({{"arch/data.pkl", p.b}, {"arch/data/0", data}, {"arch/version", "3\n"}}));
  auto t = uce::io::read_torch_tensor(path);
  ASSERT_TRUE(t.is_ok()) << t.message();
  ASSERT_EQ(t->shape, std::vector<int64_t>{2});
  float v[2];
  std::memcpy(&v[0], static_cast<const uint8_t*>(t->data), 4);
  std::memcpy(&v[1], static_cast<const uint8_t*>(t->data) + 8, 4);
  EXPECT_EQ(v[0], 2.0f);  // offset 1, stride 2 -> elements 1 and 3
  EXPECT_EQ(v[1], 4.0f);
}
