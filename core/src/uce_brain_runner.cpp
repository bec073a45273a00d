// uce_brain_runner.cpp — token projection cache, batch layout and execution of a UCE-brain model.
#include "uce/uce_brain_runner.hpp"

#include <algorithm>
#include <cstring>

namespace uce {

Result<std::unique_ptr<BrainRunner>> BrainRunner::create(std::shared_ptr<const BrainModel> model,
                                                         const std::vector<Backend*>& backends,
                                                         std::vector<int64_t> needed, const BrainRunnerOptions& options,
                                                         const LogFn& log) {
  using R = Result<std::unique_ptr<BrainRunner>>;
  std::unique_ptr<BrainRunner> r(new BrainRunner());
  r->model_ = model;
  r->options_ = options;
  const BrainDims& d = model->dims();
  const BrainReadout readout = model->readout();
  if (options.max_sequences < 1) return R::error("brain runner: max_sequences must be >= 1");
  if (options.pad_length < 1) return R::error("brain runner: pad_length must be >= 1");
  // The reference pads every sentence to pad_length, so positions [0, pad_length) must exist
  // for a mean readout; cls runs only real rows, which pad_length bounds too.
  if (options.pad_length > d.max_positions)
    return R::error("brain runner: pad_length " + std::to_string(options.pad_length) + " exceeds the model's " +
                    std::to_string(d.max_positions) + " positions (pos_encoder.pe rows)");
  if (r->options_.max_tokens <= 0) r->options_.max_tokens = options.max_sequences * options.pad_length;
  if (readout == BrainReadout::kMeanPadded) {
    needed.push_back(options.pad_token);
    if (r->options_.max_tokens < options.pad_length)
      return R::error("brain runner: max_tokens " + std::to_string(r->options_.max_tokens) +
                      " cannot hold one padded sentence of " + std::to_string(options.pad_length) + " rows");
  }
  std::sort(needed.begin(), needed.end());
  needed.erase(std::unique(needed.begin(), needed.end()), needed.end());
  if (needed.empty()) return R::error("brain runner: no tokens to prepare (empty dataset?)");
  if (needed.front() < 0 || needed.back() >= d.table_rows)
    return R::error("brain runner: token id " + std::to_string(needed.front() < 0 ? needed.front() : needed.back()) +
                    " is outside the vocabulary (" + std::to_string(d.table_rows) + " rows of " + model->weights_file() +
                    "; wrong token layout or gene mapping?)");
  // 1. Embedding LayerNorm + input projector once per distinct token.
  auto projected = project_tokens(model->token_graph(), backends, options.rules, needed, model->token_table(),
                                  d.d_model, options.token_chunk);
  if (!projected) return projected.status();
  r->tokens_table_ = projected.take();
  if (log) log(UCE_LOG_INFO, "tokens: projected " + std::to_string(needed.size()) + " distinct tokens once");

  // 2. Plan the cell graph for the largest batch.
  if (readout == BrainReadout::kMeanZeroedPads) r->pad_fill_ = model->pad_fill_table(options.pad_length);
  const Graph cg = model->cell_graph(r->tokens_table_.rows.data(), static_cast<int64_t>(needed.size()),
                                     r->pad_fill_.empty() ? nullptr : r->pad_fill_.data(), options.pad_length);
  auto cex = Executor::create(cg, backends, options.rules, r->options_.max_tokens, options.max_sequences, options.keep);
  if (!cex) return R::error("planning the cell graph: " + cex.message());
  r->cells_ = cex.take();
  if (log) log(UCE_LOG_INFO, std::string("readout: ") + brain_readout_name(readout));
  return r;
}

int32_t BrainRunner::table_row(int64_t id) const {
  return tokens_table_.row(id);
}

int64_t BrainRunner::rows_for(int64_t length) const {
  return model_->readout() == BrainReadout::kMeanPadded ? options_.pad_length : length;
}

std::string BrainRunner::plan_text() const {
  return "token graph (once per run):\n" + tokens_table_.plan + "cell graph (per batch):\n" + cells_->plan().to_text();
}

Status BrainRunner::run_batch(const std::vector<const std::vector<int64_t>*>& batch, float* out) {
  const BrainReadout readout = model_->readout();
  tokens_.clear();
  positions_.clear();
  segments_.assign(1, 0);
  cls_rows_.clear();
  lengths_.clear();
  key_mask_.clear();
  for (const auto* s : batch) {
    cls_rows_.push_back(static_cast<int32_t>(tokens_.size()));
    lengths_.push_back(static_cast<int32_t>(s->size()));
    const size_t rows = static_cast<size_t>(rows_for(static_cast<int64_t>(s->size())));
    for (size_t i = 0; i < rows; ++i) {
      const bool real = i < s->size();
      const int64_t id = real ? (*s)[i] : options_.pad_token;
      const int32_t row = table_row(id);
      if (row < 0) return Status::error("token " + std::to_string(id) + " was not prepared for this run");
      tokens_.push_back(row);
      positions_.push_back(static_cast<int32_t>(i));
      key_mask_.push_back(real ? 0 : 1);
    }
    segments_.push_back(static_cast<int32_t>(tokens_.size()));
  }
  const Graph& g = cells_->graph();
  std::map<int, const void*> inputs = {{g.find_value("batch.tokens"), tokens_.data()},
                                       {g.find_value("batch.positions"), positions_.data()},
                                       {g.find_value("batch.segments"), segments_.data()}};
  if (readout == BrainReadout::kClsPrefix) inputs[g.find_value("batch.cls_rows")] = cls_rows_.data();
  if (readout == BrainReadout::kMeanPadded) inputs[g.find_value("batch.key_mask")] = key_mask_.data();
  if (readout == BrainReadout::kMeanZeroedPads) inputs[g.find_value("batch.lengths")] = lengths_.data();
  UCE_TRY(cells_->run(static_cast<int64_t>(tokens_.size()), static_cast<int64_t>(batch.size()), inputs));
  std::vector<float> emb;
  UCE_TRY(cells_->read("output.embedding", emb));
  std::memcpy(out, emb.data(), emb.size() * sizeof(float));
  return Status::ok();
}

Status BrainRunner::embed(const std::vector<const std::vector<int64_t>*>& sentences, std::vector<float>& out) {
  const int64_t dim = model_->dims().output_dim;
  out.assign(sentences.size() * static_cast<size_t>(dim), 0.0f);
  for (const auto* s : sentences) {
    if (s->empty()) return Status::error("an empty sentence (expected at least the CLS token)");
    if (static_cast<int64_t>(s->size()) > options_.pad_length)
      return Status::error("a sentence has " + std::to_string(s->size()) + " tokens; pad_length is " +
                           std::to_string(options_.pad_length));
  }
  // Pack as many whole sentences as the plan allows.
  size_t begin = 0;
  while (begin < sentences.size()) {
    size_t end = begin;
    int64_t rows = 0;
    while (end < sentences.size() && static_cast<int64_t>(end - begin) < options_.max_sequences) {
      const int64_t need = rows_for(static_cast<int64_t>(sentences[end]->size()));
      if (rows + need > options_.max_tokens) break;
      rows += need;
      ++end;
    }
    if (end == begin)
      return Status::error("a sentence of " + std::to_string(sentences[begin]->size()) + " tokens exceeds the planned " +
                           std::to_string(options_.max_tokens) + " rows per batch");
    std::vector<const std::vector<int64_t>*> batch(sentences.begin() + static_cast<std::ptrdiff_t>(begin),
                                                   sentences.begin() + static_cast<std::ptrdiff_t>(end));
    UCE_TRY(run_batch(batch, &out[begin * static_cast<size_t>(dim)]));
    begin = end;
  }
  return Status::ok();
}

}  // namespace uce
