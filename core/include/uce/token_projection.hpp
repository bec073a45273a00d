// token_projection.hpp — the per-token part of a model (uce-models.md step 2, and UCE-brain's
// embedding LayerNorm + projector), run ONCE per distinct token of a run instead of once per
// sentence position. Shared by every model family's runner.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "uce/executor.hpp"
#include "uce/io/tensor_view.hpp"

namespace uce {

struct ProjectedTokens {
  std::vector<int32_t> row_of_token;  // token id -> row of `rows` (-1: not prepared)
  std::vector<float> rows;            // [prepared tokens, out_dim]
  std::string plan;                   // the token graph's execution plan, for --dry-run
  int32_t row(int64_t id) const {
    return id >= 0 && id < static_cast<int64_t>(row_of_token.size()) ? row_of_token[id] : -1;
  }
};

// Runs `token_graph` (input "tokens.rows" [N, table cols] f32 -> output "tokens.projected"
// [N, out_dim]) over the table rows of `ids` (sorted, unique, inside the table), `chunk` rows at a
// time. The rows are gathered on the host from the mapped table: only these rows are read.
Result<ProjectedTokens> project_tokens(const Graph& token_graph, const std::vector<Backend*>& backends,
                                       const AssignmentRules& rules, const std::vector<int64_t>& ids,
                                       const io::TensorView& table, int64_t out_dim, int64_t chunk);

}  // namespace uce
