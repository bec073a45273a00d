// Hostile safetensors: every header field checked against the file before use.
#include <gtest/gtest.h>

#include <optional>

#include "io_test_support.hpp"

using namespace io_test;

namespace {
Bytes make_st(const std::string& header, size_t data_bytes, std::optional<uint64_t> claimed_len = std::nullopt) {
  const uint64_t n = claimed_len.value_or(header.size());
  std::string s(8, '\0');
  for (size_t k = 0; k < 8; ++k) s[k] = static_cast<char>(n >> (8 * k));
  s += header;
  s.append(data_bytes, '\x3f');
  return to_bytes(s);
}
auto read(const std::string& path) { return uce::io::read_safetensors(path); }
}  // namespace

TEST(HostileSafetensors, HeaderLengthPastEof) {
  Bytes b = read_bytes(fixture("tiny.safetensors"));
  const uint64_t too_long = b.size();
  for (int k = 0; k < 8; ++k) b[static_cast<size_t>(k)] = static_cast<uint8_t>(too_long >> (8 * k));
  auto path = write_temp("hdr_past.safetensors", b);
  EXPECT_TRUE(is_error(read(path), path, "runs past the end of the file"));
  path = write_temp("hdr_max.safetensors", make_st("{}", 0, ~uint64_t{0}));
  EXPECT_TRUE(is_error(read(path), path, "runs past the end of the file"));
  path = write_temp("short.safetensors", Bytes{1, 2, 3});
  EXPECT_TRUE(is_error(read(path), path, "expected an 8-byte header length"));
  Bytes cut = read_bytes(fixture("tiny.safetensors"));
  cut.resize(cut.size() - 1);  // last tensor's data now runs past the end
  path = write_temp("cut.safetensors", cut);
  EXPECT_TRUE(is_error(read(path), path, "run past the data"));
}

TEST(HostileSafetensors, OverlappingAndOutOfRangeOffsets) {
  auto path = write_temp("overlap.safetensors",
                         make_st(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                 R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12));
  EXPECT_TRUE(is_error(read(path), path, "data_offsets overlap"));
  path = write_temp("range.safetensors", make_st(R"({"a":{"dtype":"F32","shape":[250],"data_offsets":[0,1000]}})", 16));
  EXPECT_TRUE(is_error(read(path), path, "tensor 'a' data_offsets [0, 1000] run past the data (16 bytes"));
  path = write_temp("reversed.safetensors", make_st(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", 16));
  EXPECT_TRUE(is_error(read(path), path, "0 <= begin <= end"));
  path = write_temp("negative.safetensors", make_st(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", 16));
  EXPECT_TRUE(is_error(read(path), path, "data_offsets is not [begin, end]"));
  path = write_temp("huge.safetensors",
                    make_st(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,18446744073709551615]}})", 16));
  EXPECT_TRUE(is_error(read(path), path, "data_offsets is not [begin, end]"));
}

TEST(HostileSafetensors, DtypeShapeSizeMismatch) {
  auto path = write_temp("mismatch.safetensors", make_st(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8));
  EXPECT_TRUE(is_error(read(path), path, "holds 8 bytes but dtype and shape need 3 x 4"));
  path = write_temp("overflow.safetensors",
                    make_st(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", 8));
  EXPECT_TRUE(is_error(read(path), path, "shape overflows int64"));
  path = write_temp("dtype.safetensors", make_st(R"({"a":{"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]}})", 8));
  EXPECT_TRUE(is_error(read(path), path, "dtype 'F8_E4M3' (expected F32, F16, BF16, I32, I64, U8 or F64)"));
  path = write_temp("negshape.safetensors", make_st(R"({"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}})", 8));
  EXPECT_TRUE(is_error(read(path), path, "non-integer or negative"));
  path = write_temp("noshape.safetensors", make_st(R"({"a":{"dtype":"U8","data_offsets":[0,0]}})", 8));
  EXPECT_TRUE(is_error(read(path), path, "is not {dtype, shape, data_offsets}"));
}

TEST(HostileSafetensors, InvalidJson) {
  auto path = write_temp("json.safetensors", make_st("{not json", 8));
  EXPECT_TRUE(is_error(read(path), path, "header is not valid JSON"));
  path = write_temp("array.safetensors", make_st("[1,2]", 8));
  EXPECT_TRUE(is_error(read(path), path, "header is not a JSON object"));
  path = write_temp("deep.safetensors", make_st(std::string(100000, '[') + std::string(100000, ']'), 8));
  EXPECT_TRUE(is_error(read(path), path, "nested deeper"));
  path = write_temp("meta.safetensors", make_st(R"({"__metadata__":{"a":1}})", 0));
  EXPECT_TRUE(is_error(read(path), path, "__metadata__ value of 'a' is not a string"));
  path = write_temp("badutf.safetensors", make_st("{\"\xff\xfe\":{}}", 0));
  EXPECT_TRUE(is_error(read(path), path, "header is not valid JSON"));
}

TEST(HostileSafetensors, EmptyHeaderAndZeroSizedTensorsAreFine) {
  auto path = write_temp("empty_ok.safetensors",
                         make_st(R"({"e":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},)"
                                 R"("a":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}})", 4));
  auto r = read(path);
  ASSERT_TRUE(r.is_ok()) << r.message();
  ASSERT_EQ(r->tensors.size(), 2u);
  EXPECT_EQ(r->tensors[0].first, "e");  // header order, not sorted
  EXPECT_EQ(r->tensors[0].second.numel(), 0);
}
