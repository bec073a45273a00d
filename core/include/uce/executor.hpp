// executor.hpp — the scheduler (node -> backend) and the executor that runs a planned graph.
//
// Assignment of each node (architecture.md decision 3): the [nodes] override from the config,
// else the [ops] mapping of its op type, else the first backend of the default order whose
// capability query accepts the node's full op description at the planned (largest) shapes. An
// explicit choice (node or op type) that the backend cannot run is an error, never a silent
// fallback. Where a value crosses backends a copy is planned; between two backends that both
// work on host memory it is free (shared memory). Buffers are planned once for the largest batch,
// reusing memory between values whose lifetimes do not overlap.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "uce/backend.hpp"
#include "uce/graph.hpp"
#include "uce/status.hpp"

namespace uce {

struct AssignmentRules {
  std::map<std::string, std::string> node_backend;  // [nodes]
  std::map<int, std::string> op_backend;            // [ops], keyed by uce_op_type
  std::vector<std::string> default_order;           // [backends] default
};

struct NodeAssignment {
  std::string node;
  std::string op;
  std::string backend;
  std::string reason;
};

struct PlannedCopy {
  std::string value;
  std::string from;  // backend name or "host"
  std::string to;
  int64_t bytes_per_batch = 0;  // at the planned (largest) batch
  bool zero_copy = false;       // shared host memory, nothing moves
  bool once = false;            // constants: uploaded once, not per batch
};

struct ExecutionPlan {
  std::vector<NodeAssignment> nodes;
  std::vector<PlannedCopy> copies;
  std::map<std::string, int64_t> activation_bytes;  // per backend, planned peak
  std::map<std::string, int64_t> constant_bytes;    // per backend, uploaded weights
  int64_t max_tokens = 0;
  int64_t max_sequences = 0;
  std::string to_text() const;
};

class Executor {
 public:
  // `backends` are opened and outlive the executor. `keep` names values that stay readable after
  // run() (graph outputs are always kept) — used by the layer-by-layer tests.
  static Result<std::unique_ptr<Executor>> create(const Graph& graph,
                                                  const std::vector<Backend*>& backends,
                                                  const AssignmentRules& rules, int64_t max_tokens,
                                                  int64_t max_sequences,
                                                  const std::vector<std::string>& keep = {});
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  const ExecutionPlan& plan() const { return plan_; }
  const Graph& graph() const { return graph_; }

  // Runs one batch of `tokens` packed rows in `sequences` sequences. `inputs` maps each Input
  // value id to host memory holding its rows (contiguous).
  Status run(int64_t tokens, int64_t sequences, const std::map<int, const void*>& inputs);
  // Profiling: when set, run() synchronizes the backend after every node and reports its wall
  // time (seconds). Slower, since it serializes the queue; for benchmarks, not for production.
  void set_node_timer(std::function<void(int node, double seconds)> timer) { node_timer_ = std::move(timer); }

  // After run(): a kept f32 value as rows x cols floats.
  Status read(int value, std::vector<float>& out);
  Status read(const std::string& value_name, std::vector<float>& out);

 private:
  explicit Executor(const Graph& graph);
  struct Impl;
  Graph graph_;
  ExecutionPlan plan_;
  std::unique_ptr<Impl> impl_;
  std::function<void(int node, double seconds)> node_timer_;
};

}  // namespace uce
