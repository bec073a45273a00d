// uce-run — embed the cells of an .h5ad file with a UCE model, as one TOML file describes.
//   uce-run CONFIG [--dry-run] [--quiet] [--set section.key=value ...]
// Errors end the program with one line on stderr and exit code 1 (2 for usage errors, 130 when
// interrupted: the partial output is kept and the same command resumes it).
#include <csignal>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "config.hpp"
#include "manifest.hpp"
#include "pipeline_run.hpp"
#include "prepare.hpp"
#include "report.hpp"

namespace {
std::atomic<bool> g_stop{false};
extern "C" void on_sigint(int) { g_stop.store(true); }

int usage() {
  std::cerr << "usage: uce-run CONFIG.toml [--dry-run] [--quiet] [--set section.key=value ...]\n"
               "  see configs/README.md for every key\n";
  return 2;
}

std::vector<uce::cli::BackendAssignment> plan_rows(const uce::ExecutionPlan& p) {
  std::vector<uce::cli::BackendAssignment> rows;
  for (const auto& n : p.nodes) rows.push_back({n.node, n.backend, n.reason});
  return rows;
}
}  // namespace

int main(int argc, char** argv) {
  using namespace uce::cli;
  std::string config_path;
  std::vector<std::string> sets;
  bool dry_run = false, quiet = false;
  std::string command_line;
  for (int i = 0; i < argc; ++i) {
    if (i) command_line += ' ';
    command_line += argv[i];
  }
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--dry-run") dry_run = true;
    else if (a == "--quiet") quiet = true;
    else if (a == "--set" && i + 1 < argc) sets.push_back(argv[++i]);
    else if (a.rfind("--set=", 0) == 0) sets.push_back(a.substr(6));
    else if (a == "-h" || a == "--help") return usage(), 0;
    else if (!a.empty() && a[0] == '-') return usage();
    else if (config_path.empty()) config_path = a;
    else return usage();
  }
  if (config_path.empty()) return usage();
  auto config = load_run_config(config_path, sets);
  if (!config) {
    std::cerr << "uce-run: " << config.message() << "\n";
    return 1;
  }
  const RunConfig& c = *config;
  const int min_level = c.log.level == "debug" ? UCE_LOG_DEBUG : c.log.level == "warn" ? UCE_LOG_WARN : UCE_LOG_INFO;
  LogLine log = [&](int level, const std::string& line) {
    if (level >= min_level && (!quiet || level >= UCE_LOG_WARN)) std::cerr << line << "\n";
  };
  std::signal(SIGINT, on_sigint);

  auto prepared = prepare_run(c, log);
  if (!prepared) {
    std::cerr << "uce-run: " << prepared.message() << "\n";
    return 1;
  }
  PreparedRun& run = **prepared;
  if (dry_run) {
    std::cout << "model: " << run.embedder->summary() << "\n"
              << "token table: " << run.embedder->table_choice() << "\n"
              << "cells: " << run.cells_in_file << " in file, " << run.cells_kept << " after filtering\n"
              << "genes: " << run.genes_in_file << " in file, " << run.alignment.genes.token.size() << " used\n";
    for (const auto& [why, n] : run.genes_dropped) std::cout << "  dropped genes, " << why << ": " << n << "\n";
    for (const auto* b : run.backend_ptrs) std::cout << "backend " << b->name() << ": " << b->describe() << "\n";
    std::cout << "sampler: " << c.sampling.mode << ", seed " << c.sampling.seed << ", " << c.sampling.sample_size
              << " draws per cell; longest sentence " << run.max_sentence_tokens << " tokens\n"
              << run.embedder->plan_text();
    return 0;
  }

  auto outcome = run_pipeline(c, run, log, g_stop, quiet);
  if (!outcome) {
    std::cerr << "uce-run: " << outcome.message() << "\n";
    return 1;
  }
  const RunOutcome& o = *outcome;
  if (o.interrupted) {
    std::cerr << "uce-run: interrupted after " << o.cells_embedded + o.cells_resumed << " cells; the partial output "
              << c.output.path << ".partial is kept: run the same command again to continue\n";
    return 130;
  }
  run.cells_skipped["no expressed gene known to the model"] = o.cells_skipped_zero;
  run.cells_skipped["negative or NaN counts"] = o.cells_skipped_bad;
  // Cells with negative/NaN counts were announced by the counts check before the run.
  if (o.cells_skipped_zero > 0)
    log(UCE_LOG_WARN, "WARNING: " + c.input.path + ": " + std::to_string(o.cells_skipped_zero) +
                          " cells skipped: no expressed gene known to the model (no sentence); see the manifest");
  const int64_t embedded = o.cells_embedded + o.cells_resumed;

  RunManifest m;
  m.engine_version = UCE_VERSION;
  m.date_utc = utc_now_iso8601();
  m.command_line = command_line;
  m.config_toml = c.to_toml();
  m.fingerprint = c.fingerprint();
  m.output_path = c.output.path;
  for (const auto& [role, path] : std::vector<std::pair<std::string, std::string>>{
           {"input", c.input.path}, {"checkpoint", c.model.checkpoint}, {"token_file", c.model.token_file},
           {"protein_embeddings", c.model.protein_embeddings}}) {
    if (path.empty()) continue;
    auto info = describe_input_file(role, path);
    if (info) m.inputs.push_back(*info);
  }
  m.model_summary = {run.embedder->summary(), "token table: " + run.embedder->table_choice()};
  m.backend_plan = plan_rows(run.embedder->cell_executor().plan());
  m.sampler = c.sampling.mode;
  m.seed = c.sampling.seed;
  m.cells_in_file = run.cells_in_file;
  m.cells_embedded = embedded;
  m.cells_skipped = run.cells_skipped;
  m.genes_in_file = run.genes_in_file;
  m.genes_used = static_cast<int64_t>(run.alignment.genes.token.size());
  m.genes_dropped = run.genes_dropped;
  for (const auto& [stage, s] : o.stages) {
    int64_t cells = 0;
    for (const auto& [t, n] : s.completions) cells += n;
    m.timings.push_back({stage, s.busy_s, s.last_s - std::max(0.0, s.first_s), s.busy_s > 0 ? cells / s.busy_s : 0});
  }
  m.wall_s = o.wall_s;
  m.cells_per_s = o.wall_s > 0 ? o.cells_embedded / o.wall_s : 0;
  const std::string base = std::filesystem::path(c.output.path).replace_extension().string();
  if (c.output.manifest)
    if (auto s = write_manifest_json(base + ".manifest.json", m); !s) log(UCE_LOG_WARN, "WARNING: " + s.message());
  if (c.output.report) {
    ReportData d;
    d.date_utc = m.date_utc;
    d.command_line = command_line;
    d.input_path = c.input.path;
    d.output_path = c.output.path;
    d.model = run.embedder->summary();
    std::map<std::string, int> per_backend;
    for (const auto& n : m.backend_plan) ++per_backend[n.backend];
    for (const auto& [b, n] : per_backend) {
      if (!d.backends.empty()) d.backends += ", ";
      d.backends += b + " (" + std::to_string(n) + " nodes)";
    }
    d.cells_in_file = m.cells_in_file;
    d.cells_embedded = embedded;
    d.cells_skipped = m.cells_skipped;
    d.genes_in_file = m.genes_in_file;
    d.genes_used = m.genes_used;
    d.wall_s = m.wall_s;
    d.cells_per_s = m.cells_per_s;
    d.backend_plan = m.backend_plan;
    for (const auto& [stage, s] : o.stages) {
      // cells/s per time window (about 60 windows over the run)
      const double w = std::max(0.25, o.wall_s / 60.0);
      std::map<int64_t, double> bins;
      for (const auto& [t, n] : s.completions) bins[static_cast<int64_t>(t / w)] += static_cast<double>(n);
      ThroughputSeries ts{stage, {}};
      for (const auto& [bin, cells] : bins) ts.points.emplace_back((static_cast<double>(bin) + 0.5) * w, cells / w);
      d.throughput.push_back(ts);
    }
    d.embeddings = o.sample_embeddings.data();
    d.n = static_cast<int64_t>(o.sample_rows.size());
    d.k = run.embedder->output_dim();
    d.color_by = c.output.color_by;
    d.labels.assign(static_cast<size_t>(d.n), "cells");
    // Labels of the sampled cells, read in bounded row ranges of the obs column.
    const auto& rows = o.sample_rows;
    constexpr int64_t kRange = 65536;
    for (size_t i = 0; i < rows.size();) {
      const int64_t begin = rows[i], end = std::min(run.cells_in_file, begin + kRange);
      auto labels = run.reader->obs_strings(c.output.color_by, begin, end);
      if (!labels) {
        d.label_note = "not coloured: " + labels.message();
        d.labels.assign(static_cast<size_t>(d.n), "cells");
        break;
      }
      for (; i < rows.size() && rows[i] < end; ++i) d.labels[i] = (*labels)[static_cast<size_t>(rows[i] - begin)];
    }
    if (auto s = write_html_report(base + ".report.html", d); !s) log(UCE_LOG_WARN, "WARNING: " + s.message());
  }
  if (!quiet)
    std::cerr << "uce-run: embedded " << embedded << " of " << run.cells_in_file << " cells into " << c.output.path << " (obsm/"
              << c.output.key << ", " << run.embedder->output_dim() << " dims) in " << o.wall_s << " s, "
              << (o.wall_s > 0 ? o.cells_embedded / o.wall_s : 0) << " cells/s\n";
  return 0;
}
