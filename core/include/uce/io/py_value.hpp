// py_value.hpp — the Python values a model pickle may hold, as plain C++ data.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "uce/io/tensor_view.hpp"

namespace uce::io {

struct PyValue {
  enum class Kind { None, Bool, Int, Float, Str, Bytes, List, Tuple, Dict, Tensor };

  Kind kind = Kind::None;
  bool b = false;     // Bool
  int64_t i = 0;      // Int (pickled ints beyond int64 are rejected by the reader)
  double f = 0.0;     // Float
  std::string s;      // Str (UTF-8 as pickled) or Bytes
  std::vector<PyValue> items;                     // List, Tuple
  std::vector<std::pair<PyValue, PyValue>> dict;  // Dict / OrderedDict, insertion order
  TensorView tensor;                              // Tensor

  bool is_none() const { return kind == Kind::None; }
  bool is_str() const { return kind == Kind::Str; }
  bool is_int() const { return kind == Kind::Int; }
  bool is_dict() const { return kind == Kind::Dict; }
  bool is_tensor() const { return kind == Kind::Tensor; }
  // Dict lookup by string key (linear); nullptr when absent or not a dict.
  const PyValue* find(std::string_view key) const;
};

// "None", "bool", "int", "float", "str", "bytes", "list", "tuple", "dict", "tensor".
const char* kind_name(PyValue::Kind kind);

}  // namespace uce::io
