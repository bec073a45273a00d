// safetensors written by hand from numpy (make_io_fixtures.py).
#include <gtest/gtest.h>

#include "io_test_support.hpp"

using namespace io_test;

TEST(Safetensors, TensorsInHeaderOrderMatchNumpy) {
  auto st = uce::io::read_safetensors(fixture("tiny.safetensors"));
  ASSERT_TRUE(st.is_ok()) << st.message();
  const Json& want = expected()["tiny.safetensors"];
  ASSERT_EQ(st->tensors.size(), want["tensors"].size());
  size_t k = 0;
  for (const auto& [name, rec] : want["tensors"].items()) {
    EXPECT_EQ(st->tensors[k].first, name);
    EXPECT_EQ(compare_tensor(st->tensors[k].second, rec), "") << name;
    EXPECT_TRUE(st->tensors[k].second.is_contiguous());
    ++k;
  }
  ASSERT_EQ(st->metadata.size(), want["metadata"].size());
  k = 0;
  for (const auto& [key, value] : want["metadata"].items()) {
    EXPECT_EQ(st->metadata[k].first, key);
    EXPECT_EQ(st->metadata[k].second, value.get<std::string>());
    ++k;
  }
}
