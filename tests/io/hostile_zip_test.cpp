// Damaged and hostile torch.save archives, made at run time by mutating the real fixture or by
// hand-assembling zips. Every case must give a one-line error naming the file and the cause.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "io_test_support.hpp"

using namespace io_test;

namespace {

// Offset of the last occurrence of a 4-byte signature.
size_t find_last(const Bytes& b, uint32_t sig) {
  for (size_t p = b.size() - 4 + 1; p-- > 0;) {
    uint32_t v;
    std::memcpy(&v, b.data() + p, 4);
    if (v == sig) return p;
  }
  return SIZE_MAX;
}
size_t find_first(const Bytes& b, uint32_t sig) {
  for (size_t p = 0; p + 4 <= b.size(); ++p) {
    uint32_t v;
    std::memcpy(&v, b.data() + p, 4);
    if (v == sig) return p;
  }
  return SIZE_MAX;
}
void put32(Bytes& b, size_t at, uint32_t v) { std::memcpy(b.data() + at, &v, 4); }
void put64(Bytes& b, size_t at, uint64_t v) { std::memcpy(b.data() + at, &v, 8); }

Bytes good() { return read_bytes(fixture("tiny_model.torch")); }

std::string float_bytes(int n) {
  std::string s;
  for (int k = 0; k < n; ++k) {
    float f = static_cast<float>(k);
    s.append(reinterpret_cast<const char*>(&f), 4);
  }
  return s;
}

}  // namespace

TEST(HostileZip, TruncatedAtManyPoints) {
  const Bytes b = good();
  ASSERT_GT(b.size(), 200u);
  for (size_t cut : {size_t{0}, size_t{1}, size_t{4}, size_t{21}, size_t{22}, size_t{100}, size_t{1000},
                     b.size() / 2, b.size() - 100, b.size() - 57, b.size() - 23, b.size() - 22, b.size() - 1}) {
    const std::string path = write_temp("trunc_" + std::to_string(cut) + ".torch", Bytes(b.begin(), b.begin() + static_cast<long>(cut)));
    auto r = uce::io::read_torch_file(path);
    EXPECT_FALSE(r.is_ok()) << "cut at " << cut;
    if (!r.is_ok()) {
      EXPECT_EQ(r.message().rfind(path + ": ", 0), 0u) << r.message();
      EXPECT_EQ(r.message().find('\n'), std::string::npos);
    }
  }
  const auto mid = write_temp("trunc_mid.torch", Bytes(b.begin(), b.begin() + static_cast<long>(b.size() / 2)));
  EXPECT_TRUE(is_error(uce::io::read_torch_file(mid), mid, "expected an end-of-central-directory record"));
}

TEST(HostileZip, WrongMagic) {
  Bytes b = good();
  b[0] = 'X';
  const auto path = write_temp("magic.torch", b);
  EXPECT_TRUE(is_error(uce::io::read_torch_file(path), path, "not a torch.save archive (expected zip magic"));
}

TEST(HostileZip, LegacyFormatIsRejectedClearly) {
  // Legacy torch.save starts with a pickled magic number: PROTO 2, LONG1 ...
  const Bytes b = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e};
  const auto path = write_temp("legacy.pt", b);
  EXPECT_TRUE(is_error(uce::io::read_torch_file(path), path,
                       "legacy torch.save format not supported; re-save with torch>=1.6"));
}

TEST(HostileZip, CentralDirectoryOffsetPastEof) {
  Bytes b = good();  // torch writes ZIP64 records: the reader trusts those
  const size_t z64 = find_last(b, 0x06064b50);
  ASSERT_NE(z64, SIZE_MAX);
  put64(b, z64 + 48, b.size() + 1000);
  auto path = write_temp("cd_past_eof.torch", b);
  EXPECT_TRUE(is_error(uce::io::read_torch_file(path), path, "runs past the end of the file"));
  put64(b, z64 + 48, ~uint64_t{0} - 5);  // offset + size overflows
  path = write_temp("cd_overflow.torch", b);
  EXPECT_TRUE(is_error(uce::io::read_torch_file(path), path, "central directory at offset"));

  Bytes classic = make_zip({{"a/data.pkl", "\x80\x02N."}});  // classic EOCD only
  put32(classic, find_last(classic, 0x06054b50) + 16, 0x7fffffff);
  path = write_temp("cd_past_eof_classic.pt", classic);
  EXPECT_TRUE(is_error(uce::io::read_torch_file(path), path, "central directory at offset 2147483647"));
}

TEST(HostileZip, Zip64LocatorPastEof) {
  Bytes b = good();
  const size_t loc = find_last(b, 0x07064b50);
  ASSERT_NE(loc, SIZE_MAX);
  put64(b, loc + 8, b.size() * 3);
  const auto path = write_temp("z64loc.torch", b);
  EXPECT_TRUE(is_error(uce::io::read_torch_file(path), path, "ZIP64 end-of-central-directory offset"));
}

TEST(HostileZip, HugeEntryCount) {
  Bytes b = good();
  const size_t z64 = find_last(b, 0x06064b50);
  put64(b, z64 + 32, uint64_t{1} << 40);
  const auto path = write_temp("entries.torch", b);
  EXPECT_TRUE(is_error(uce::io::read_torch_file(path), path, "expected at least 46 bytes per entry"));
}

TEST(HostileZip, CompressedEntry) {
  Bytes b = good();
  const size_t cd = find_first(b, 0x02014b50);  // data.pkl's central entry
  ASSERT_NE(cd, SIZE_MAX);
  b[cd + 10] = 8;  // deflate
  auto path = write_temp("deflate.torch", b);
  EXPECT_TRUE(is_error(uce::io::read_torch_file(path), path, "is compressed (method 8; expected stored entries"));
  path = write_temp("deflate2.pt", make_zip({{"a/data.pkl", "\x80\x02N."}}, 8));
  EXPECT_TRUE(is_error(uce::io::read_torch_file(path), path, "'a/data.pkl' is compressed"));
}

TEST(HostileZip, LocalHeaderAndEntryDataOutOfRange) {
  Bytes b = good();
  const size_t cd = find_first(b, 0x02014b50);
  Bytes bad_local = b;
  put32(bad_local, cd + 42, 0x7ffffff0);
  auto path = write_temp("local.torch", bad_local);
  EXPECT_TRUE(is_error(uce::io::read_torch_file(path), path, "local header offset 2147483632 is invalid"));
  Bytes bad_size = b;
  put32(bad_size, cd + 20, 0x7fffffff);
  put32(bad_size, cd + 24, 0x7fffffff);
  path = write_temp("size.torch", bad_size);
  EXPECT_TRUE(is_error(uce::io::read_torch_file(path), path, "runs past the end of the file"));
}

TEST(HostileZip, NoDataPkl) {
  const auto path = write_temp("nopkl.pt", make_zip({{"a/data/0", "1234"}, {"a/version", "3\n"}}));
  EXPECT_TRUE(is_error(uce::io::read_torch_file(path), path, "no '<archive>/data.pkl' entry"));
}

TEST(HostileZip, StorageProblems) {
  Pickle missing;
  missing.proto(2).tensor_1d("FloatStorage", "7", 4, 0, 4, 1).stop();
  auto path = write_temp("missing_storage.pt", make_zip({{"a/data.pkl", missing.b}, {"a/data/0", float_bytes(4)}}));
  EXPECT_TRUE(is_error(uce::io::read_torch_file(path), path, "storage '7' has no entry 'a/data/7'"));

  Pickle too_many;
  too_many.proto(2).tensor_1d("FloatStorage", "0", 100, 0, 4, 1).stop();
  path = write_temp("numel_storage.pt", make_zip({{"a/data.pkl", too_many.b}, {"a/data/0", float_bytes(4)}}));
  EXPECT_TRUE(is_error(uce::io::read_torch_file(path), path, "claims 100 F32 elements but its entry holds 16 bytes"));

  Pickle past;  // offset 2 + 4 elements > storage of 4
  past.proto(2).tensor_1d("FloatStorage", "0", 4, 2, 4, 1).stop();
  path = write_temp("past_storage.pt", make_zip({{"a/data.pkl", past.b}, {"a/data/0", float_bytes(4)}}));
  EXPECT_TRUE(is_error(uce::io::read_torch_file(path), path, "reaches past its storage of 4 elements"));
  EXPECT_TRUE(is_error(uce::io::read_torch_file(path), path, "a/data.pkl byte"));

  Pickle strided;  // 3 elements with stride 2 need 5
  strided.proto(2).tensor_1d("FloatStorage", "0", 4, 0, 3, 2).stop();
  path = write_temp("stride_storage.pt", make_zip({{"a/data.pkl", strided.b}, {"a/data/0", float_bytes(4)}}));
  EXPECT_TRUE(is_error(uce::io::read_torch_file(path), path, "reaches past its storage"));

  Pickle offset_only;  // empty tensor whose offset lies past the storage
  offset_only.proto(2).tensor_1d("FloatStorage", "0", 4, 9, 0, 1).stop();
  path = write_temp("offset_storage.pt", make_zip({{"a/data.pkl", offset_only.b}, {"a/data/0", float_bytes(4)}}));
  EXPECT_TRUE(is_error(uce::io::read_torch_file(path), path, "reaches past its storage"));
}

TEST(HostileZip, OverflowingSizesAndStrides) {
  // size (2^62, 4), stride (2^62, 1): numel and extent overflow int64.
  auto long8 = [](Pickle& p, uint64_t v) {
    p.op(0x8a).op(8);
    for (int k = 0; k < 8; ++k) p.op(static_cast<uint8_t>(v >> (8 * k)));
  };
  Pickle p;
  p.proto(2).global("torch._utils", "_rebuild_tensor_v2").mark();
  p.mark().str("storage").global("torch", "FloatStorage").str("0").str("cpu").int1(4).tuple().op('Q');
  p.int1(0);
  long8(p, uint64_t{1} << 62);
  p.int1(4).op(0x86);
  long8(p, uint64_t{1} << 62);
  p.int1(1).op(0x86).op(0x89).global("collections", "OrderedDict").op(')').op('R').tuple().op('R').stop();
  const auto path = write_temp("overflow.pt", make_zip({{"a/data.pkl", p.b}, {"a/data/0", float_bytes(4)}}));
  EXPECT_TRUE(is_error(uce::io::read_torch_file(path), path, "reaches past its storage"));
}

TEST(HostileZip, BigEndianByteorder) {
  const Bytes b = make_zip({{"a/data.pkl", "\x80\x02N."}, {"a/byteorder", "big"}});
  const auto path = write_temp("big.pt", b);
  EXPECT_TRUE(is_error(uce::io::read_torch_file(path), path, "byteorder is 'big' (expected 'little')"));
  const auto ok = write_temp("little.pt", make_zip({{"a/data.pkl", "\x80\x02N."}, {"a/byteorder", "little"}}));
  EXPECT_TRUE(uce::io::read_torch_file(ok).is_ok());
}

TEST(HostileZip, Zip64ExtraFieldsAreHonouredAndChecked) {
  std::string data = float_bytes(4);
  Pickle p;
  p.proto(2).tensor_1d("FloatStorage", "0", 4, 0, 4, 1).stop();
  const std::vector<std::pair<std::string, std::string>> entries = {{"big/data.pkl", p.b}, {"big/data/0", data}};
  auto path = write_temp("zip64_extra.pt", make_zip(entries, 0, true));
  auto t = uce::io::read_torch_tensor(path);
  ASSERT_TRUE(t.is_ok()) << t.message();
  float third;
  std::memcpy(&third, static_cast<const uint8_t*>(t->data) + 8, 4);
  EXPECT_EQ(third, 2.0f);
  path = write_temp("zip64_short_extra.pt", make_zip(entries, 0, true, 16));
  EXPECT_TRUE(is_error(uce::io::read_torch_file(path), path, "no valid ZIP64 extra field"));
}
