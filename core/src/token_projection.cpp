// token_projection.cpp — see token_projection.hpp.
#include "uce/token_projection.hpp"

#include <algorithm>
#include <cstring>

namespace uce {

Result<ProjectedTokens> project_tokens(const Graph& token_graph, const std::vector<Backend*>& backends,
                                       const AssignmentRules& rules, const std::vector<int64_t>& ids,
                                       const io::TensorView& table, int64_t out_dim, int64_t chunk_rows) {
  using R = Result<ProjectedTokens>;
  ProjectedTokens p;
  const int64_t table_rows = table.shape[0], width = table.shape[1];
  p.row_of_token.assign(static_cast<size_t>(table_rows), -1);
  for (size_t i = 0; i < ids.size(); ++i) p.row_of_token[ids[i]] = static_cast<int32_t>(i);
  const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(chunk_rows, static_cast<int64_t>(ids.size())));
  auto ex = Executor::create(token_graph, backends, rules, chunk, 1);
  if (!ex) return R::error("planning the token graph: " + ex.message());
  p.plan = (*ex)->plan().to_text();
  p.rows.assign(ids.size() * static_cast<size_t>(out_dim), 0.0f);
  std::vector<float> gathered(static_cast<size_t>(chunk * width));
  const auto* base = static_cast<const uint8_t*>(table.data);
  const size_t row_bytes = static_cast<size_t>(width) * sizeof(float);
  const int input = token_graph.find_value("tokens.rows");
  std::vector<float> out;
  for (size_t begin = 0; begin < ids.size(); begin += static_cast<size_t>(chunk)) {
    const size_t n = std::min(ids.size() - begin, static_cast<size_t>(chunk));
    for (size_t i = 0; i < n; ++i)
      std::memcpy(&gathered[i * width], base + static_cast<size_t>(ids[begin + i]) * row_bytes, row_bytes);
    if (Status s = (*ex)->run(static_cast<int64_t>(n), 1, {{input, gathered.data()}}); !s)
      return R::error("projecting tokens: " + s.message());
    if (Status s = (*ex)->read("tokens.projected", out); !s) return R::error(s.message());
    std::memcpy(&p.rows[begin * out_dim], out.data(), n * static_cast<size_t>(out_dim) * sizeof(float));
  }
  return p;
}

}  // namespace uce
