// Plain pickles (species_offsets.pkl) written by Python's pickle, protocols 2 and 4.
#include <gtest/gtest.h>

#include "io_test_support.hpp"

using namespace io_test;
using uce::io::PyValue;

namespace {
void expect_offsets(const std::string& file) {
  auto r = uce::io::read_pickle_file(fixture(file));
  ASSERT_TRUE(r.is_ok()) << r.message();
  ASSERT_TRUE(r->is_dict());
  const Json& want = expected()["species_offsets"];
  ASSERT_EQ(r->dict.size(), want.size());
  size_t k = 0;
  for (const auto& [name, value] : want.items()) {
    EXPECT_EQ(r->dict[k].first.s, name) << file;
    ASSERT_TRUE(r->dict[k].second.is_int()) << name;
    EXPECT_EQ(r->dict[k].second.i, value.get<int64_t>()) << file << " " << name;
    ++k;
  }
}
}  // namespace

TEST(PickleFile, SpeciesOffsetsProtocol2) { expect_offsets("species_offsets_p2.pkl"); }
TEST(PickleFile, SpeciesOffsetsProtocol4) { expect_offsets("species_offsets_p4.pkl"); }

TEST(PickleFile, Protocol4ValuesOfEveryKind) {
  // plain_values_p4.pkl holds, per make_io_fixtures.py:
  // {"raw": b"\x00\x01\xff", "pi": -2.5, "t": (1, "two", None), "flags": [True, False], "nested": {"k": [1, 2**40]}}
  auto r = uce::io::read_pickle_file(fixture("plain_values_p4.pkl"));
  ASSERT_TRUE(r.is_ok()) << r.message();
  ASSERT_EQ(r->dict.size(), 5u);
  EXPECT_EQ(r->find("raw")->kind, PyValue::Kind::Bytes);
  EXPECT_EQ(r->find("raw")->s, std::string("\x00\x01\xff", 3));
  EXPECT_EQ(r->find("pi")->f, -2.5);
  const PyValue* t = r->find("t");
  ASSERT_EQ(t->kind, PyValue::Kind::Tuple);
  ASSERT_EQ(t->items.size(), 3u);
  EXPECT_EQ(t->items[0].i, 1);
  EXPECT_EQ(t->items[1].s, "two");
  EXPECT_TRUE(t->items[2].is_none());
  const PyValue* flags = r->find("flags");
  ASSERT_EQ(flags->items.size(), 2u);
  EXPECT_TRUE(flags->items[0].b);
  EXPECT_FALSE(flags->items[1].b);
  const PyValue* k = r->find("nested")->find("k");
  ASSERT_EQ(k->items.size(), 2u);
  EXPECT_EQ(k->items[1].i, int64_t{1} << 40);
}

TEST(PickleFile, TorchArchiveGivenAsPlainPickleIsAnError) {
  auto r = uce::io::read_pickle_file(fixture("tiny_model.torch"));
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.message().find("tiny_model.torch: is a zip archive"), std::string::npos) << r.message();
}

TEST(PickleFile, RepeatedKeyReplacesValueInPlace) {
  // Python: {"a": 1, "b": 2} then d["a"] = 3 keeps "a" first (hand-assembled SETITEMS).
  Pickle p;
  p.proto(2).op('}').mark().str("a").int1(1).str("b").int1(2).str("a").int1(3).op('u').stop();
  auto r = uce::io::read_pickle_file(write_temp("dup.pkl", to_bytes(p.b)));
  ASSERT_TRUE(r.is_ok()) << r.message();
  ASSERT_EQ(r->dict.size(), 2u);
  EXPECT_EQ(r->dict[0].first.s, "a");
  EXPECT_EQ(r->dict[0].second.i, 3);
}
