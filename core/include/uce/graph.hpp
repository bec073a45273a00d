// graph.hpp — an operator graph of named nodes (architecture.md decision 3).
//
// Values are 2-D tensors whose row count is an affine function of the batch's shape:
//   rows = per_token * N + per_sequence * B + fixed
// where N = packed token rows of the batch and B = its number of sequences. This lets one graph
// and one buffer plan (made for the largest batch) serve every batch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "uce/uce_plugin.h"

namespace uce {

struct RowCount {
  int64_t per_token = 0;
  int64_t per_sequence = 0;
  int64_t fixed = 0;
  int64_t eval(int64_t tokens, int64_t sequences) const {
    return per_token * tokens + per_sequence * sequences + fixed;
  }
  static RowCount tokens() { return {1, 0, 0}; }
  static RowCount sequences() { return {0, 1, 0}; }
  static RowCount sequences_plus_one() { return {0, 1, 1}; }
  static RowCount constant(int64_t n) { return {0, 0, n}; }
};

enum class ValueKind { Input, Constant, Activation };

struct Value {
  std::string name;
  ValueKind kind = ValueKind::Activation;
  int32_t dtype = UCE_F32;
  RowCount rows;
  int64_t cols = 1;      // 1-D tensors: cols = 1 and one_dim = true
  bool one_dim = false;  // indices, biases, norm weights: ndim 1 with ne[0] = rows
  // Constants: host memory (often mmapped from the model file), contiguous, row stride = cols.
  const void* host = nullptr;
};

struct Node {
  std::string name;  // e.g. "layer3.attn.qkv"
  int32_t type = 0;  // uce_op_type
  int32_t activation = UCE_ACT_NONE;
  int32_t n_heads = 0;
  float eps = 0.0f;
  float scale = 1.0f;
  std::vector<int> srcs;  // value ids, -1 = optional input absent
  int dst = -1;
};

class Graph {
 public:
  int add_input(std::string name, int32_t dtype, RowCount rows, int64_t cols, bool one_dim = false);
  int add_constant(std::string name, int32_t dtype, int64_t rows, int64_t cols, const void* host,
                   bool one_dim = false);
  // Adds a node and its output activation (named like the node). Returns the output value id.
  int add_node(Node node, RowCount out_rows, int64_t out_cols, int32_t out_dtype = UCE_F32);
  // Marks a value as a graph output (kept alive and readable after a run).
  void mark_output(int value) { outputs_.push_back(value); }

  const std::vector<Value>& values() const { return values_; }
  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<int>& outputs() const { return outputs_; }
  int find_value(const std::string& name) const;  // -1 if absent
  int find_node(const std::string& name) const;   // -1 if absent

 private:
  std::vector<Value> values_;
  std::vector<Node> nodes_;
  std::vector<int> outputs_;
};

}  // namespace uce
