// graph.cpp — building the operator graph.
#include "uce/graph.hpp"

#include <utility>

namespace uce {

int Graph::add_input(std::string name, int32_t dtype, RowCount rows, int64_t cols, bool one_dim) {
  Value v;
  v.name = std::move(name);
  v.kind = ValueKind::Input;
  v.dtype = dtype;
  v.rows = rows;
  v.cols = cols;
  v.one_dim = one_dim;
  values_.push_back(std::move(v));
  return static_cast<int>(values_.size()) - 1;
}

int Graph::add_constant(std::string name, int32_t dtype, int64_t rows, int64_t cols,
                        const void* host, bool one_dim) {
  Value v;
  v.name = std::move(name);
  v.kind = ValueKind::Constant;
  v.dtype = dtype;
  v.rows = RowCount::constant(rows);
  v.cols = cols;
  v.one_dim = one_dim;
  v.host = host;
  values_.push_back(std::move(v));
  return static_cast<int>(values_.size()) - 1;
}

int Graph::add_node(Node node, RowCount out_rows, int64_t out_cols, int32_t out_dtype) {
  Value v;
  v.name = node.name;
  v.kind = ValueKind::Activation;
  v.dtype = out_dtype;
  v.rows = out_rows;
  v.cols = out_cols;
  values_.push_back(std::move(v));
  node.dst = static_cast<int>(values_.size()) - 1;
  nodes_.push_back(std::move(node));
  return nodes_.back().dst;
}

int Graph::find_value(const std::string& name) const {
  for (size_t i = 0; i < values_.size(); ++i)
    if (values_[i].name == name) return static_cast<int>(i);
  return -1;
}

int Graph::find_node(const std::string& name) const {
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i].name == name) return static_cast<int>(i);
  return -1;
}

}  // namespace uce
