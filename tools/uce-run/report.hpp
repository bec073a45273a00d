// report.hpp — the run's HTML report: one self-contained file (inline CSS + SVG, no JavaScript, no
// network) with the run summary, the backend plan, throughput over time and a PCA of the embeddings.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "manifest.hpp"  // BackendAssignment
#include "uce/status.hpp"

namespace uce::cli {

struct ThroughputSeries {
  std::string stage;
  std::vector<std::pair<double, double>> points;  // (seconds since start, cells/s)
};

struct ReportData {
  std::string title = "uce-run report";
  std::string date_utc;
  std::string command_line;
  std::string input_path;
  std::string output_path;
  std::string model;     // one line, e.g. "UCE 4-layer (d_model 1280, 20 heads)"
  std::string backends;  // one line, e.g. "blas (32 nodes), vulkan:0 (12 nodes)"
  int64_t cells_in_file = 0;
  int64_t cells_embedded = 0;
  std::map<std::string, int64_t> cells_skipped;  // reason -> cells
  int64_t genes_in_file = 0;
  int64_t genes_used = 0;
  double wall_s = 0;
  double cells_per_s = 0;
  std::vector<std::pair<std::string, std::string>> extra_summary;  // more "name: value" rows

  std::vector<BackendAssignment> backend_plan;
  std::vector<ThroughputSeries> throughput;

  // Embeddings [n x k] row-major (not copied; must stay valid during write_html_report) and one
  // label per row for the colours (empty = one colour). label_note explains missing labels.
  const float* embeddings = nullptr;
  int64_t n = 0;
  int64_t k = 0;
  std::vector<std::string> labels;
  std::string color_by = "cell_type";
  std::string label_note;
  int64_t max_points = 20000;  // the scatter shows at most this many cells (evenly spaced rows)
  int64_t max_fit_points = 5000;  // the PCA axes are fitted on at most this many of them
  size_t max_categories = 19;  // the largest label groups get colours, the rest is "other"
};

// The page as text.
std::string html_report(const ReportData& d);
// Writes html_report(d) to path (temporary file + rename).
Status write_html_report(const std::string& path, const ReportData& d);

// Rows shown in the scatter for n cells and at most max_points: all rows, or evenly spaced ones.
std::vector<int64_t> scatter_rows(int64_t n, int64_t max_points);

}  // namespace uce::cli
