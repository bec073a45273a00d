// py_value.cpp — small helpers on unpickled values.
#include "uce/io/py_value.hpp"

namespace uce::io {

const PyValue* PyValue::find(std::string_view key) const {
  if (kind != Kind::Dict) return nullptr;
  for (const auto& [k, v] : dict) {
    if (k.kind == Kind::Str && k.s == key) return &v;
  }
  return nullptr;
}

const char* kind_name(PyValue::Kind kind) {
  switch (kind) {
    case PyValue::Kind::None: return "None";
    case PyValue::Kind::Bool: return "bool";
    case PyValue::Kind::Int: return "int";
    case PyValue::Kind::Float: return "float";
    case PyValue::Kind::Str: return "str";
    case PyValue::Kind::Bytes: return "bytes";
    case PyValue::Kind::List: return "list";
    case PyValue::Kind::Tuple: return "tuple";
    case PyValue::Kind::Dict: return "dict";
    case PyValue::Kind::Tensor: return "tensor";
  }
  return "?";
}

}  // namespace uce::io
