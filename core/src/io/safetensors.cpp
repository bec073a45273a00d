// safetensors.cpp — 8-byte little-endian header length N, N bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}, then the data
// (offsets relative to its start). Every offset is checked against the file before use.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "io_util.hpp"
#include "uce/io/model_files.hpp"
#include "uce/uce_plugin.h"

namespace uce::io {
namespace {

using detail::printable;
using Json = nlohmann::ordered_json;  // keeps the header's order

constexpr uint64_t kMaxHeader = uint64_t{100} << 20;  // the reference implementation's limit
constexpr int kMaxJsonDepth = 16;                     // a valid header is 3 levels deep

int32_t parse_dtype(const std::string& s) {
  if (s == "F32") return UCE_F32;
  if (s == "F16") return UCE_F16;
  if (s == "BF16") return UCE_BF16;
  if (s == "I32") return UCE_I32;
  if (s == "I64") return UCE_I64;
  if (s == "U8") return UCE_U8;
  if (s == "F64") return UCE_F64;
  return -1;
}

// Rejects absurd nesting before the JSON parser sees it.
bool nesting_ok(const char* text, size_t len) {
  int depth = 0;
  bool in_string = false;
  for (size_t k = 0; k < len; ++k) {
    const char c = text[k];
    if (in_string) {
      if (c == '\\') ++k;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxJsonDepth) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

bool get_index(const Json& j, int64_t* out) {
  if (!j.is_number_unsigned()) {
    if (j.is_number_integer() && j.get<int64_t>() >= 0) {
      *out = j.get<int64_t>();
      return true;
    }
    return false;
  }
  const uint64_t v = j.get<uint64_t>();
  if (v > static_cast<uint64_t>(INT64_MAX)) return false;
  *out = static_cast<int64_t>(v);
  return true;
}

struct Range {
  int64_t begin, end;
  size_t tensor;
};

Result<SafetensorsFile> parse(const std::string& path, std::shared_ptr<MappedFile> file) {
  auto err = [&](const std::string& what) { return Result<SafetensorsFile>::error(path + ": " + what); };
  const uint64_t size = file->size();
  if (size < 8) return err("file of " + std::to_string(size) + " bytes (expected an 8-byte header length first)");
  const uint64_t header_len = detail::load_u64(file->data());
  if (header_len > size - 8) {
    return err("header length " + std::to_string(header_len) + " runs past the end of the file (" +
               std::to_string(size) + " bytes; truncated or not safetensors)");
  }
  if (header_len > kMaxHeader) return err("header length " + std::to_string(header_len) + " (expected at most 100 MiB)");
  const char* text = reinterpret_cast<const char*>(file->data() + 8);
  if (!nesting_ok(text, static_cast<size_t>(header_len))) return err("header JSON nested deeper than 16 levels (expected a flat header)");
  Json header = Json::parse(text, text + header_len, nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded()) return err("header is not valid JSON");
  if (!header.is_object()) return err("header is not a JSON object (expected {name: {dtype, shape, data_offsets}})");

  const uint64_t data_start = 8 + header_len;
  const auto data_size = static_cast<int64_t>(size - data_start);
  SafetensorsFile out;
  out.file = file;
  std::vector<Range> ranges;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) return err("__metadata__ is not an object (expected {str: str})");
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string()) return err("__metadata__ value of '" + printable(k) + "' is not a string (expected {str: str})");
        out.metadata.emplace_back(k, v.get<std::string>());
      }
      continue;
    }
    const std::string where = "tensor '" + printable(name) + "'";
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") || !entry.contains("data_offsets")) {
      return err(where + " is not {dtype, shape, data_offsets}");
    }
    const Json& jd = entry["dtype"];
    const Json& js = entry["shape"];
    const Json& jo = entry["data_offsets"];
    if (!jd.is_string()) return err(where + " dtype is not a string");
    TensorView view;
    view.dtype = parse_dtype(jd.get<std::string>());
    if (view.dtype < 0) {
      return err(where + " has dtype '" + printable(jd.get<std::string>()) + "' (expected F32, F16, BF16, I32, I64, U8 or F64)");
    }
    if (!js.is_array() || js.size() > 16) return err(where + " shape is not an array of at most 16 ints");
    int64_t numel = 1;
    for (const Json& d : js) {
      int64_t dim = 0;
      if (!get_index(d, &dim)) return err(where + " shape holds a non-integer or negative entry (expected ints >= 0)");
      if (!detail::mul_i64(numel, dim, &numel)) return err(where + " shape overflows int64");
      view.shape.push_back(dim);
    }
    int64_t begin = 0, end = 0, bytes = 0;
    if (!jo.is_array() || jo.size() != 2 || !get_index(jo[0], &begin) || !get_index(jo[1], &end) || begin > end) {
      return err(where + " data_offsets is not [begin, end] with 0 <= begin <= end");
    }
    if (end > data_size) {
      return err(where + " data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                 "] run past the data (" + std::to_string(data_size) + " bytes; truncated file?)");
    }
    if (!detail::mul_i64(numel, dtype_size(view.dtype), &bytes) || bytes != end - begin) {
      return err(where + " holds " + std::to_string(end - begin) + " bytes but dtype and shape need " +
                 std::to_string(numel) + " x " + std::to_string(dtype_size(view.dtype)) + " (expected equal)");
    }
    view.stride.assign(view.shape.size(), 1);
    for (size_t k = view.shape.size(); k-- > 1;) view.stride[k - 1] = view.stride[k] * view.shape[k];
    view.data = file->data() + data_start + begin;
    view.file = file;
    ranges.push_back({begin, end, out.tensors.size()});
    out.tensors.emplace_back(name, std::move(view));
  }
  // Tensors must not share bytes (the format forbids it; overlapping views are a tampering sign).
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return a.begin < b.begin; });
  int64_t covered = 0;
  const Range* previous = nullptr;
  for (const Range& r : ranges) {
    if (r.begin == r.end) continue;
    if (r.begin < covered) {
      return err("tensor '" + printable(out.tensors[r.tensor].first) + "' data_offsets overlap those of '" +
                 printable(out.tensors[previous->tensor].first) + "' (expected disjoint ranges)");
    }
    covered = r.end;
    previous = &r;
  }
  return out;
}

}  // namespace

Result<SafetensorsFile> read_safetensors(const std::string& path) {
  auto file = MappedFile::open(path);
  if (!file) return file.status();
  try {
    return parse(path, file.take());
  } catch (const std::exception& e) {  // nlohmann throws only on misuse; never let it escape
    return Result<SafetensorsFile>::error(path + ": header could not be read (" + printable(e.what()) + ")");
  }
}

}  // namespace uce::io
