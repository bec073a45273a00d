// uce_runner.hpp — runs an original UCE model on batches of cell sentences.
//
// At creation it projects every token the run needs once (the token graph, in chunks), keeps the
// projected rows as the cell graph's table, and plans the cell graph for the largest batch.
// embed() packs the sentences of a batch back to back (no padding: each cell attends only to its
// own tokens) or, in compatibility mode, pads groups of `compat_batch_size` cells like the
// official tool (token PAD, +1 logit bias on padded keys, padded rows through every layer).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "uce/executor.hpp"
#include "uce/token_projection.hpp"
#include "uce/uce_model.hpp"

namespace uce {

struct UceRunnerOptions {
  AssignmentRules rules;
  int64_t max_tokens = 0;     // planned packed rows per batch
  int64_t max_sequences = 0;  // planned cells per batch
  int64_t compat_batch_size = 0;
  int64_t pad_token = 0;
  int64_t token_chunk = 4096;  // token projection chunk (rows)
  std::vector<std::string> keep;  // cell-graph values to keep readable (tests)
};

class UceRunner {
 public:
  static Result<std::unique_ptr<UceRunner>> create(std::shared_ptr<const UceModel> model,
                                                   const std::vector<Backend*>& backends,
                                                   std::vector<int64_t> needed_tokens,
                                                   const UceRunnerOptions& options, const LogFn& log);
  // Embeds the sentences (token ids) into `out` [n, output_dim], row i for sentence i.
  Status embed(const std::vector<const std::vector<int64_t>*>& sentences, std::vector<float>& out);
  Executor& cell_executor() { return *cells_; }
  const std::vector<float>& projected_table() const { return tokens_table_.rows; }
  // Row of the projected table holding token `id` (-1 if the run did not prepare it).
  int32_t table_row(int64_t id) const;
  std::string plan_text() const;

 private:
  UceRunner() = default;
  Status run_group(const std::vector<const std::vector<int64_t>*>& group, bool pad, float* out);
  std::shared_ptr<const UceModel> model_;
  UceRunnerOptions options_;
  ProjectedTokens tokens_table_;
  std::unique_ptr<Executor> cells_;
  // per-batch inputs, reused
  std::vector<int32_t> tokens_, positions_, segments_, cls_rows_;
  std::vector<float> key_bias_;
};

}  // namespace uce
