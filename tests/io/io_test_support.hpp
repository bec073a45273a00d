// io_test_support.hpp — shared helpers of the io tests: fixture paths, temp files, expected.json,
// element access through strides, and tiny writers for hand-made zips and pickles (hostile cases).
#pragma once

#include <cstdint>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "uce/io/model_files.hpp"

namespace io_test {

using Bytes = std::vector<uint8_t>;
using Json = nlohmann::ordered_json;

std::string fixture(const std::string& name);
Bytes read_bytes(const std::string& path);
// Writes bytes to a fresh file in this process's temp folder and returns its path.
std::string write_temp(const std::string& name, const Bytes& bytes);
inline Bytes to_bytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

// tests/fixtures/io/expected.json (written by the Python reference script).
const Json& expected();

// Element `index` (logical row-major order) of a view, located through its strides.
int64_t element_offset(const uce::io::TensorView& v, int64_t index);
// Compares every element of `v` with expected.json's record {dtype, shape, stride, values}.
// Returns "" on success, else what differs.
std::string compare_tensor(const uce::io::TensorView& v, const Json& record);
// Reads every byte of every element of `v` (lets ASan see any read outside the mapping) and
// checks each element lies inside v.file's mapping.
bool touch_all_elements(const uce::io::TensorView& v);

// A minimal ZIP writer (classic EOCD, no ZIP64 records): entries stored, or marked with `method`.
// With `zip64_extra`, central entries put sizes and offsets in a ZIP64 extra field (0xFFFFFFFF in
// the fixed fields), as writers do for entries over 4 GiB; `extra_len` shortens that field.
Bytes make_zip(const std::vector<std::pair<std::string, std::string>>& entries, uint16_t method = 0,
               bool zip64_extra = false, uint16_t extra_len = 24);

// A tiny pickle assembler for hand-made (and hostile) pickles.
struct Pickle {
  std::string b;
  Pickle& op(uint8_t code) { b += static_cast<char>(code); return *this; }
  Pickle& raw(const std::string& s) { b += s; return *this; }
  Pickle& proto(int p) { op(0x80); return op(static_cast<uint8_t>(p)); }
  Pickle& global(const std::string& module, const std::string& name) { op('c'); return raw(module + "\n" + name + "\n"); }
  Pickle& str(const std::string& s);   // BINUNICODE
  Pickle& int1(uint8_t v) { op('K'); return op(v); }
  Pickle& binint(int32_t v);
  Pickle& mark() { return op('('); }
  Pickle& tuple() { return op('t'); }
  Pickle& stop() { return op('.'); }
  // _rebuild_tensor_v2(persistent storage(key, numel), offset, (size,), (stride,), False, OrderedDict())
  Pickle& tensor_1d(const std::string& storage_class, const std::string& key, int32_t numel, int32_t offset,
                    int32_t size, int32_t stride);
};

}  // namespace io_test

namespace io_test {
// The error contract: not ok, one line, starting "PATH: ", containing `cause`.
template <typename R>
::testing::AssertionResult is_error(const R& r, const std::string& path, const std::string& cause) {
  if (r.is_ok()) return ::testing::AssertionFailure() << "expected an error about '" << cause << "', got ok";
  const std::string& m = r.message();
  if (m.find('\n') != std::string::npos) return ::testing::AssertionFailure() << "multi-line error: " << m;
  if (m.rfind(path + ": ", 0) != 0) return ::testing::AssertionFailure() << "error does not start with the path: " << m;
  if (m.find(cause) == std::string::npos) return ::testing::AssertionFailure() << "error lacks '" << cause << "': " << m;
  return ::testing::AssertionSuccess() << m;
}
}  // namespace io_test
