// pipeline_run.hpp — the run itself: a oneTBB flow graph
//   read row chunks -> limiter -> build sentences (parallel) -> in order -> hand-off queue
// feeding the calling thread, which runs model + ordered writer on each batch. The next batches'
// sentences are built on oneTBB workers while the current batch runs on the backend (which gets
// every core: see pipeline_run.cpp), with memory bounded by [batching] in_flight, not by the dataset.
#pragma once

#include <atomic>
#include <map>
#include <string>
#include <vector>

#include "config.hpp"
#include "prepare.hpp"
#include "report.hpp"

namespace uce::cli {

struct StageStats {
  double busy_s = 0;
  double first_s = -1, last_s = 0;
  std::vector<std::pair<double, int64_t>> completions;  // (seconds since start, cells)
};

struct RunOutcome {
  int64_t cells_embedded = 0;   // this run (resumed rows not counted)
  int64_t cells_resumed = 0;    // already in the partial output
  int64_t cells_skipped_zero = 0, cells_skipped_bad = 0;
  bool interrupted = false;
  double wall_s = 0;
  std::map<std::string, StageStats> stages;
  std::vector<float> sample_embeddings;  // a bounded, evenly spaced subset for the report
  std::vector<int64_t> sample_rows;
};

// Runs the model over every kept cell and writes the outputs. `stop` is polled between batches
// (SIGINT): the run then flushes what is done and keeps the partial output for a resume.
Result<RunOutcome> run_pipeline(const RunConfig& config, PreparedRun& run, const LogLine& log,
                                const std::atomic<bool>& stop, bool quiet);

}  // namespace uce::cli
