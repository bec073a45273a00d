// embedder.hpp — what the run needs from a model family, whichever it is (original UCE or
// UCE-brain): embed a batch of sentences, show its plan, describe itself.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "uce/executor.hpp"
#include "uce/status.hpp"

namespace uce::cli {

class CellEmbedder {
 public:
  virtual ~CellEmbedder() = default;
  // Sentences (token ids, no padding) -> out [n, output_dim()], unit rows.
  virtual Status embed(const std::vector<const std::vector<int64_t>*>& sentences, std::vector<float>& out) = 0;
  virtual Executor& cell_executor() = 0;
  virtual std::string plan_text() const = 0;
  virtual std::string summary() const = 0;      // one line: family, layers, widths
  virtual std::string table_choice() const = 0; // which token table and why
  virtual int64_t output_dim() const = 0;
  virtual bool has_node(const std::string& name) const = 0;  // in the token or the cell graph
};

// Adapts a model + its runner (UceModel/UceRunner, BrainModel/BrainRunner) to CellEmbedder.
template <typename Model, typename Runner>
class RunnerEmbedder final : public CellEmbedder {
 public:
  RunnerEmbedder(std::shared_ptr<Model> model, std::unique_ptr<Runner> runner, std::string table_choice)
      : model_(std::move(model)), runner_(std::move(runner)), table_choice_(std::move(table_choice)) {}
  Status embed(const std::vector<const std::vector<int64_t>*>& s, std::vector<float>& out) override {
    return runner_->embed(s, out);
  }
  Executor& cell_executor() override { return runner_->cell_executor(); }
  std::string plan_text() const override { return runner_->plan_text(); }
  std::string summary() const override { return model_->summary(); }
  std::string table_choice() const override { return table_choice_; }
  int64_t output_dim() const override { return model_->dims().output_dim; }
  bool has_node(const std::string& name) const override {
    return runner_->cell_executor().graph().find_node(name) >= 0 || model_->token_graph().find_node(name) >= 0;
  }

 private:
  std::shared_ptr<Model> model_;
  std::unique_ptr<Runner> runner_;
  std::string table_choice_;
};

}  // namespace uce::cli
