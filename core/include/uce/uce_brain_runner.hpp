// uce_brain_runner.hpp — runs a UCE-brain model on batches of cell sentences.
//
// At creation it projects every token the run needs once (the token graph, in chunks), keeps the
// projected rows as the cell graph's table, and plans the cell graph for the largest batch.
// embed() takes each sentence's REAL tokens ([CLS] ... last chrom close; no PAD) and lays them
// out as the model's readout needs (BrainModel::readout()):
//   cls          the real prefix only, packed back to back (exact with a boolean mask);
//   mean, zeroed the real prefix only; the padded positions' constant share is added per length;
//   mean, padded each sentence followed by PAD tokens up to pad_length, padded keys masked.
// Results never depend on how cells are grouped into batches.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "uce/executor.hpp"
#include "uce/token_projection.hpp"
#include "uce/uce_brain_model.hpp"

namespace uce {

struct BrainRunnerOptions {
  AssignmentRules rules;
  int64_t max_sequences = 0;  // planned cells per batch (>= 1)
  int64_t max_tokens = 0;     // planned packed rows per batch; 0 = max_sequences * pad_length
  int64_t pad_token = 0;      // BrainTokenLayout::pad_token
  int64_t pad_length = 2048;  // BrainTokenLayout::pad_length: no sentence may be longer
  int64_t token_chunk = 4096;  // token projection chunk (rows)
  std::vector<std::string> keep;  // cell-graph values to keep readable (tests)
};

class BrainRunner {
 public:
  // `needed_tokens`: every token id the run's sentences can contain (genes, CLS, chromosome
  // tokens, chrom close); PAD is added when the readout needs it. Ids must be < vocab_size.
  static Result<std::unique_ptr<BrainRunner>> create(std::shared_ptr<const BrainModel> model,
                                                     const std::vector<Backend*>& backends,
                                                     std::vector<int64_t> needed_tokens,
                                                     const BrainRunnerOptions& options, const LogFn& log);
  // Embeds the sentences into `out` [n, output_dim], row i for sentence i (unit rows).
  Status embed(const std::vector<const std::vector<int64_t>*>& sentences, std::vector<float>& out);
  // Packed rows a sentence of `length` real tokens takes in a batch (for batch planning).
  int64_t rows_for(int64_t length) const;

  Executor& cell_executor() { return *cells_; }
  const std::vector<float>& projected_table() const { return tokens_table_.rows; }
  int32_t table_row(int64_t id) const;  // row of token `id` in the projected table, -1 if absent
  std::string plan_text() const;

 private:
  BrainRunner() = default;
  Status run_batch(const std::vector<const std::vector<int64_t>*>& batch, float* out);
  std::shared_ptr<const BrainModel> model_;
  BrainRunnerOptions options_;
  ProjectedTokens tokens_table_;
  std::vector<float> pad_fill_;
  std::unique_ptr<Executor> cells_;
  // per-batch inputs, reused
  std::vector<int32_t> tokens_, positions_, segments_, cls_rows_, lengths_;
  std::vector<uint8_t> key_mask_;
};

}  // namespace uce
