// uce_runner.cpp — token projection cache, batch packing and execution of the UCE model.
#include "uce/uce_runner.hpp"

#include "uce/token_projection.hpp"

#include <algorithm>
#include <cstring>

namespace uce {

Result<std::unique_ptr<UceRunner>> UceRunner::create(std::shared_ptr<const UceModel> model,
                                                     const std::vector<Backend*>& backends,
                                                     std::vector<int64_t> needed, const UceRunnerOptions& options,
                                                     const LogFn& log) {
  using R = Result<std::unique_ptr<UceRunner>>;
  std::unique_ptr<UceRunner> r(new UceRunner());
  r->model_ = model;
  r->options_ = options;
  const UceDims& d = model->dims();
  if (options.compat_batch_size > 0) needed.push_back(options.pad_token);
  std::sort(needed.begin(), needed.end());
  needed.erase(std::unique(needed.begin(), needed.end()), needed.end());
  if (needed.empty()) return R::error("no tokens to prepare (empty dataset?)");
  if (needed.front() < 0 || needed.back() >= d.table_rows)
    return R::error("token id " + std::to_string(needed.front() < 0 ? needed.front() : needed.back()) +
                    " is outside the token table (rows " + std::to_string(d.table_rows) + ")");
  // 1. Project each distinct token once.
  auto projected = project_tokens(model->token_graph(), backends, options.rules, needed, model->token_table(),
                                  d.d_model, options.token_chunk);
  if (!projected) return projected.status();
  r->tokens_table_ = projected.take();
  if (log) log(UCE_LOG_INFO, "tokens: projected " + std::to_string(needed.size()) + " distinct tokens once");

  // 2. Plan the cell graph for the largest batch.
  const Graph cg = model->cell_graph(r->tokens_table_.rows.data(), static_cast<int64_t>(needed.size()),
                                     options.compat_batch_size > 0);
  auto cex = Executor::create(cg, backends, options.rules, options.max_tokens, options.max_sequences, options.keep);
  if (!cex) return R::error("planning the cell graph: " + cex.message());
  r->cells_ = cex.take();
  return r;
}

int32_t UceRunner::table_row(int64_t id) const {
  return tokens_table_.row(id);
}

std::string UceRunner::plan_text() const {
  return "token graph (once per run):\n" + tokens_table_.plan + "cell graph (per batch):\n" + cells_->plan().to_text();
}

Status UceRunner::run_group(const std::vector<const std::vector<int64_t>*>& group, bool pad, float* out) {
  const UceDims& d = model_->dims();
  size_t longest = 0, total = 0;
  for (const auto* s : group) {
    longest = std::max(longest, s->size());
    total += s->size();
  }
  if (pad) total = longest * group.size();
  if (longest > static_cast<size_t>(d.max_positions))
    return Status::error("a sentence has " + std::to_string(longest) + " tokens; the model has " +
                         std::to_string(d.max_positions) + " positions");
  tokens_.clear();
  positions_.clear();
  segments_.assign(1, 0);
  cls_rows_.clear();
  key_bias_.clear();
  const int32_t pad_row = pad ? table_row(options_.pad_token) : -1;
  for (const auto* s : group) {
    cls_rows_.push_back(static_cast<int32_t>(tokens_.size()));
    const size_t len = pad ? longest : s->size();
    for (size_t i = 0; i < len; ++i) {
      const bool real = i < s->size();
      const int32_t row = real ? table_row((*s)[i]) : pad_row;
      if (row < 0) return Status::error("token " + std::to_string((*s)[i]) + " was not prepared for this run");
      tokens_.push_back(row);
      positions_.push_back(static_cast<int32_t>(i));
      if (pad) key_bias_.push_back(real ? 0.0f : 1.0f);
    }
    segments_.push_back(static_cast<int32_t>(tokens_.size()));
  }
  const Graph& g = cells_->graph();
  std::map<int, const void*> inputs = {{g.find_value("batch.tokens"), tokens_.data()},
                                       {g.find_value("batch.positions"), positions_.data()},
                                       {g.find_value("batch.segments"), segments_.data()},
                                       {g.find_value("batch.cls_rows"), cls_rows_.data()}};
  if (pad) inputs[g.find_value("batch.key_bias")] = key_bias_.data();
  UCE_TRY(cells_->run(static_cast<int64_t>(total), static_cast<int64_t>(group.size()), inputs));
  std::vector<float> emb;
  UCE_TRY(cells_->read("output.embedding", emb));
  std::memcpy(out, emb.data(), emb.size() * sizeof(float));
  return Status::ok();
}

Status UceRunner::embed(const std::vector<const std::vector<int64_t>*>& sentences, std::vector<float>& out) {
  const int64_t dim = model_->dims().output_dim;
  out.assign(sentences.size() * static_cast<size_t>(dim), 0.0f);
  const bool pad = options_.compat_batch_size > 0;
  // Without padding, pack as many whole sentences as the plan allows; with padding, each group of
  // compat_batch_size consecutive cells is one official batch.
  size_t begin = 0;
  while (begin < sentences.size()) {
    size_t end = begin;
    if (pad) {
      end = std::min(sentences.size(), begin + static_cast<size_t>(options_.compat_batch_size));
    } else {
      int64_t rows = 0;
      while (end < sentences.size() && static_cast<int64_t>(end - begin) < options_.max_sequences &&
             rows + static_cast<int64_t>(sentences[end]->size()) <= options_.max_tokens) {
        rows += static_cast<int64_t>(sentences[end]->size());
        ++end;
      }
      if (end == begin)
        return Status::error("a sentence of " + std::to_string(sentences[begin]->size()) +
                             " tokens exceeds the planned " + std::to_string(options_.max_tokens) + " rows per batch");
    }
    std::vector<const std::vector<int64_t>*> group(sentences.begin() + static_cast<std::ptrdiff_t>(begin),
                                                   sentences.begin() + static_cast<std::ptrdiff_t>(end));
    UCE_TRY(run_group(group, pad, &out[begin * static_cast<size_t>(dim)]));
    begin = end;
  }
  return Status::ok();
}

}  // namespace uce
