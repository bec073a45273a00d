#include "io_test_support.hpp"

#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <iterator>

#include "uce/uce_plugin.h"

namespace io_test {

std::string fixture(const std::string& name) { return std::string(UCE_IO_FIXTURES) + "/" + name; }

Bytes read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

namespace {
const std::filesystem::path& temp_dir() {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::path(::testing::TempDir()) / ("uce_io_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

// Removes this process's temp folder when the tests end.
class TempDirCleanup : public ::testing::Environment {
 public:
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(temp_dir(), ec);
  }
};
[[maybe_unused]] const auto* const kCleanup = ::testing::AddGlobalTestEnvironment(new TempDirCleanup);
}  // namespace

std::string write_temp(const std::string& name, const Bytes& bytes) {
  const std::filesystem::path& dir = temp_dir();
  const std::string path = (dir / name).string();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return path;
}

const Json& expected() {
  static const Json j = [] {
    std::ifstream in(fixture("expected.json"));
    return Json::parse(in);
  }();
  return j;
}

int64_t element_offset(const uce::io::TensorView& v, int64_t index) {
  int64_t off = 0;
  for (size_t k = v.shape.size(); k-- > 0;) {
    off += (index % v.shape[k]) * v.stride[k];
    index /= v.shape[k];
  }
  return off;
}

namespace {
template <typename T>
T load(const uce::io::TensorView& v, int64_t element) {
  T x;
  std::memcpy(&x, static_cast<const uint8_t*>(v.data) + element * static_cast<int64_t>(sizeof(T)), sizeof(T));
  return x;
}
}  // namespace

std::string compare_tensor(const uce::io::TensorView& v, const Json& rec) {
  if (rec["dtype"].get<std::string>() != uce::io::dtype_name(v.dtype)) {
    return "dtype " + std::string(uce::io::dtype_name(v.dtype)) + " vs " + rec["dtype"].get<std::string>();
  }
  if (rec["shape"].get<std::vector<int64_t>>() != v.shape) return "shape differs";
  if (rec["stride"].get<std::vector<int64_t>>() != v.stride) return "stride differs";
  const Json& values = rec["values"];
  if (static_cast<int64_t>(values.size()) != v.numel()) return "numel differs";
  for (int64_t i = 0; i < v.numel(); ++i) {
    const int64_t e = element_offset(v, i);
    const Json& want = values[static_cast<size_t>(i)];
    bool same = false;
    switch (v.dtype) {
      case UCE_F32: same = static_cast<double>(load<float>(v, e)) == want.get<double>(); break;
      case UCE_F64: same = load<double>(v, e) == want.get<double>(); break;
      case UCE_F16:
      case UCE_BF16: same = load<uint16_t>(v, e) == want.get<uint16_t>(); break;
      case UCE_I32: same = load<int32_t>(v, e) == want.get<int64_t>(); break;
      case UCE_I64: same = load<int64_t>(v, e) == want.get<int64_t>(); break;
      case UCE_U8: same = load<uint8_t>(v, e) == want.get<int64_t>(); break;
      default: return "unknown dtype";
    }
    if (!same) return "element " + std::to_string(i) + " differs from " + want.dump();
  }
  return "";
}

bool touch_all_elements(const uce::io::TensorView& v) {
  if (!v.file) return false;
  const uint8_t* lo = v.file->data();
  const uint8_t* hi = lo + v.file->size();
  const int64_t es = uce::io::dtype_size(v.dtype);
  volatile uint8_t sink = 0;
  for (int64_t i = 0; i < v.numel(); ++i) {
    const uint8_t* p = static_cast<const uint8_t*>(v.data) + element_offset(v, i) * es;
    if (p < lo || p + es > hi) return false;
    for (int64_t k = 0; k < es; ++k) sink = static_cast<uint8_t>(sink + p[k]);
  }
  return true;
}

namespace {
void put16(Bytes& b, uint32_t v) { b.push_back(v & 0xff); b.push_back((v >> 8) & 0xff); }
void put32(Bytes& b, uint32_t v) { put16(b, v & 0xffff); put16(b, v >> 16); }
}  // namespace

Bytes make_zip(const std::vector<std::pair<std::string, std::string>>& entries, uint16_t method, bool zip64_extra,
               uint16_t extra_len) {
  Bytes out, cd;
  for (const auto& [name, data] : entries) {
    const auto offset = static_cast<uint32_t>(out.size());
    const auto size = static_cast<uint32_t>(data.size());
    put32(out, 0x04034b50); put16(out, 20); put16(out, 0); put16(out, method); put16(out, 0); put16(out, 0);
    put32(out, 0); put32(out, size); put32(out, size);
    put16(out, static_cast<uint32_t>(name.size())); put16(out, 0);
    out.insert(out.end(), name.begin(), name.end());
    out.insert(out.end(), data.begin(), data.end());
    const uint32_t big = 0xFFFFFFFF;
    put32(cd, 0x02014b50); put16(cd, 45); put16(cd, 45); put16(cd, 0); put16(cd, method); put16(cd, 0); put16(cd, 0);
    put32(cd, 0); put32(cd, zip64_extra ? big : size); put32(cd, zip64_extra ? big : size);
    put16(cd, static_cast<uint32_t>(name.size())); put16(cd, zip64_extra ? extra_len + 4u : 0u); put16(cd, 0);
    put16(cd, 0); put16(cd, 0); put32(cd, 0); put32(cd, zip64_extra ? big : offset);
    cd.insert(cd.end(), name.begin(), name.end());
    if (zip64_extra) {  // order per APPNOTE 4.5.3: uncompressed, compressed, local header offset
      put16(cd, 0x0001); put16(cd, extra_len);
      Bytes field;
      for (uint64_t v : {uint64_t{size}, uint64_t{size}, uint64_t{offset}}) { put32(field, static_cast<uint32_t>(v)); put32(field, static_cast<uint32_t>(v >> 32)); }
      field.resize(extra_len, 0);
      cd.insert(cd.end(), field.begin(), field.end());
    }
  }
  const auto cd_offset = static_cast<uint32_t>(out.size());
  out.insert(out.end(), cd.begin(), cd.end());
  put32(out, 0x06054b50); put16(out, 0); put16(out, 0);
  put16(out, static_cast<uint32_t>(entries.size())); put16(out, static_cast<uint32_t>(entries.size()));
  put32(out, static_cast<uint32_t>(cd.size())); put32(out, cd_offset); put16(out, 0);
  return out;
}

Pickle& Pickle::str(const std::string& s) {
  op('X');
  const auto n = static_cast<uint32_t>(s.size());
  for (int k = 0; k < 4; ++k) op(static_cast<uint8_t>(n >> (8 * k)));
  return raw(s);
}

Pickle& Pickle::binint(int32_t v) {
  op('J');
  const auto u = static_cast<uint32_t>(v);
  for (int k = 0; k < 4; ++k) op(static_cast<uint8_t>(u >> (8 * k)));
  return *this;
}

Pickle& Pickle::tensor_1d(const std::string& storage_class, const std::string& key, int32_t numel, int32_t offset,
                          int32_t size, int32_t stride) {
  global("torch._utils", "_rebuild_tensor_v2").mark();
  mark().str("storage").global("torch", storage_class).str(key).str("cpu").binint(numel).tuple().op('Q');
  binint(offset).binint(size).op(0x85).binint(stride).op(0x85).op(0x89);
  global("collections", "OrderedDict").op(')').op('R');
  return tuple().op('R');
}

}  // namespace io_test
