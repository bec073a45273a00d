// prepare.hpp — everything before the model runs: plugins and backends, the input's genes and
// cells (filtering, alignment with the model's gene files), the model and its execution plan.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config.hpp"
#include "embedder.hpp"
#include "stages.hpp"
#include "uce/backend.hpp"
#include "uce/sentences/cell_filter.hpp"
#include "uce/sentences/gene_alignment.hpp"
#include "uce/sentences/sampler.hpp"

namespace uce::cli {

using LogLine = std::function<void(int level, const std::string& line)>;

struct PreparedRun {
  PluginRegistry registry;
  std::vector<std::unique_ptr<Backend>> backends;
  std::vector<Backend*> backend_ptrs;
  std::unique_ptr<CellReader> reader;
  const uce_stage_iface* writer_stage = nullptr;
  const uce_stage_iface* npy_stage = nullptr;  // for [output] npy; may stay null
  sentences::FilterDecision filter;            // keep_cell / keep_gene (all 1 without filtering)
  sentences::GeneAlignment alignment;
  std::unique_ptr<sentences::SentenceBuilder> builder;
  sentences::SamplerMode mode = sentences::SamplerMode::kPerCell;
  std::unique_ptr<CellEmbedder> embedder;  // the model family's runner
  int64_t cells_in_file = 0, cells_kept = 0, genes_in_file = 0;
  int64_t max_sentence_tokens = 0;
  std::map<std::string, int64_t> cells_skipped;
  std::map<std::string, int64_t> genes_dropped;
  int64_t bad_values = 0;  // non-integer, negative or NaN counts seen
};

// Loads plugins, opens backends, reads the input's genes, filters and aligns, loads the model and
// plans it. With dry_run the model is planned but no batch runs.
Result<std::unique_ptr<PreparedRun>> prepare_run(const RunConfig& config, const LogLine& log);

}  // namespace uce::cli
