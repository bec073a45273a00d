// report.cpp — see report.hpp.
#include "report.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <sstream>

#include "pca.hpp"
#include "progress.hpp"  // Progress::format_duration
#include "svg_plot.hpp"

namespace uce::cli {
namespace {

const char* kCss = R"(
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222;
       max-width: 1180px; margin: 24px auto; padding: 0 16px; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; font-size: 0.92em; }
td, th { padding: 3px 10px; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
table.summary td:first-child { color: #555; white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font-size: 0.92em; background: #f6f6f6; padding: 1px 4px; border-radius: 3px; word-break: break-all; }
svg text.tick { font-size: 11px; fill: #555; }
svg text.axis { font-size: 13px; fill: #333; }
svg text.legend { font-size: 12px; fill: #333; }
.note { color: #666; font-size: 0.9em; }
)";

std::string row(const std::string& name, const std::string& value_html) {
  return "<tr><td>" + html_escape(name) + "</td><td>" + value_html + "</td></tr>\n";
}
std::string num(int64_t v) {
  std::string s = std::to_string(v), out;
  int c = 0;
  for (size_t i = s.size(); i-- > 0;) {  // thousands separators
    out.insert(out.begin(), s[i]);
    if (++c % 3 == 0 && i > 0 && s[i - 1] != '-') out.insert(out.begin(), ',');
  }
  return out;
}

std::string summary_section(const ReportData& d) {
  std::ostringstream s;
  s << "<h2>Run summary</h2>\n<table class='summary'>\n";
  if (!d.date_utc.empty()) s << row("date (UTC)", html_escape(d.date_utc));
  if (!d.command_line.empty()) s << row("command", "<code>" + html_escape(d.command_line) + "</code>");
  if (!d.input_path.empty()) s << row("input", "<code>" + html_escape(d.input_path) + "</code>");
  if (!d.output_path.empty()) s << row("output", "<code>" + html_escape(d.output_path) + "</code>");
  if (!d.model.empty()) s << row("model", html_escape(d.model));
  if (!d.backends.empty()) s << row("backends", html_escape(d.backends));
  s << row("cells in file", num(d.cells_in_file)) << row("cells embedded", num(d.cells_embedded));
  int64_t skipped = 0;
  std::string reasons;
  for (const auto& [why, count] : d.cells_skipped) {
    skipped += count;
    reasons += (reasons.empty() ? "" : ", ") + html_escape(why) + ": " + num(count);
  }
  s << row("cells skipped", num(skipped) + (reasons.empty() ? "" : " (" + reasons + ")"));
  if (d.genes_in_file > 0) s << row("genes used", num(d.genes_used) + " of " + num(d.genes_in_file));
  s << row("wall time", html_escape(Progress::format_duration(d.wall_s)) + " (" + fmt_num(d.wall_s) + " s)")
    << row("throughput", fmt_num(d.cells_per_s) + " cells/s");
  for (const auto& [name, value] : d.extra_summary) s << row(name, html_escape(value));
  s << "</table>\n";
  return s.str();
}

std::string plan_section(const ReportData& d) {
  std::ostringstream s;
  s << "<h2>Backend plan</h2>\n";
  if (d.backend_plan.empty()) return s.str() + "<p class='note'>No backend plan recorded.</p>\n";
  std::map<std::string, int> per_backend;
  for (const auto& a : d.backend_plan) per_backend[a.backend]++;
  s << "<p>";
  for (auto it = per_backend.begin(); it != per_backend.end(); ++it)
    s << (it == per_backend.begin() ? "" : ", ") << "<b>" << html_escape(it->first) << "</b>: " << it->second
      << " node" << (it->second == 1 ? "" : "s");
  // Long plans (33 layers) stay folded; the <details> element needs no script.
  s << "</p>\n<details" << (d.backend_plan.size() <= 40 ? " open" : "") << "><summary>"
    << d.backend_plan.size() << " nodes</summary>\n<table>\n<tr><th>node</th><th>backend</th><th>reason</th></tr>\n";
  for (const auto& a : d.backend_plan)
    s << "<tr><td><code>" << html_escape(a.node) << "</code></td><td>" << html_escape(a.backend) << "</td><td>"
      << html_escape(a.reason) << "</td></tr>\n";
  s << "</table>\n</details>\n";
  return s.str();
}

std::string throughput_section(const ReportData& d) {
  std::vector<LineSeries> series;
  for (const auto& t : d.throughput) series.push_back({t.stage, t.points});
  return "<h2>Throughput per stage</h2>\n" +
         svg_line_chart(series, "time since start (s)", "cells/s", 1100, 360);
}

std::string pca_section(const ReportData& d) {
  std::ostringstream s;
  s << "<h2>Embeddings: PCA</h2>\n";
  if (!d.embeddings || d.n <= 0 || d.k <= 0)
    return s.str() + "<p class='note'>No embeddings available.</p>\n";
  std::vector<int64_t> rows = scatter_rows(d.n, d.max_points);
  std::vector<float> sub(rows.size() * static_cast<size_t>(d.k));
  for (size_t i = 0; i < rows.size(); ++i)
    std::copy_n(d.embeddings + rows[i] * d.k, d.k, sub.begin() + static_cast<int64_t>(i) * d.k);
  Pca2d pca = pca_2d_full(sub.data(), static_cast<int64_t>(rows.size()), d.k, d.max_fit_points);

  // Colour groups: the largest label groups, then "other".
  bool labelled = d.labels.size() == static_cast<size_t>(d.n);
  std::map<std::string, int64_t> counts;
  for (int64_t r : rows) counts[labelled ? d.labels[static_cast<size_t>(r)] : "all cells"]++;
  std::vector<std::pair<std::string, int64_t>> by_count(counts.begin(), counts.end());
  std::stable_sort(by_count.begin(), by_count.end(), [](auto& a, auto& b) { return a.second > b.second; });
  std::map<std::string, int> group_of;
  std::vector<ScatterGroup> groups;
  int64_t other = 0;
  for (size_t i = 0; i < by_count.size(); ++i) {
    if (i < d.max_categories || by_count.size() == d.max_categories + 1) {
      group_of[by_count[i].first] = static_cast<int>(groups.size());
      groups.push_back({by_count[i].first, palette_color(groups.size()), by_count[i].second});
    } else {
      other += by_count[i].second;
    }
  }
  int other_group = -1;
  if (other > 0) {
    other_group = static_cast<int>(groups.size());
    groups.push_back({"other (" + std::to_string(by_count.size() - d.max_categories) + " labels)",
                      other_color(), other});
  }
  std::vector<int> group(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    auto it = group_of.find(labelled ? d.labels[static_cast<size_t>(rows[i])] : "all cells");
    group[i] = it != group_of.end() ? it->second : other_group;
  }
  auto pct = [&](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%", pca.total_variance > 0 ? 100 * v / pca.total_variance : 0.0);
    return std::string(buf);
  };
  s << "<p>" << num(static_cast<int64_t>(rows.size())) << " of " << num(d.n) << " cells"
    << (static_cast<int64_t>(rows.size()) < d.n ? " (evenly spaced rows)" : "") << ", " << d.k
    << " dimensions; colour: <code>" << html_escape(labelled ? d.color_by : "none") << "</code>.";
  if (!labelled && !d.label_note.empty()) s << " <span class='note'>" << html_escape(d.label_note) << "</span>";
  s << "</p>\n"
    << svg_scatter(pca.points, group, groups, "PC1 (" + pct(pca.variance[0]) + " of variance)",
                   "PC2 (" + pct(pca.variance[1]) + ")", 1100, 720);
  return s.str();
}

}  // namespace

std::vector<int64_t> scatter_rows(int64_t n, int64_t max_points) {
  std::vector<int64_t> rows;
  if (n <= 0) return rows;
  int64_t m = max_points > 0 ? std::min(n, max_points) : n;
  rows.reserve(static_cast<size_t>(m));
  const bool exact = n <= INT64_MAX / m;  // i * n cannot overflow
  for (int64_t i = 0; i < m; ++i)          // floor(i * n / m): evenly spaced, first row 0
    rows.push_back(exact ? i * n / m
                         : static_cast<int64_t>(static_cast<long double>(i) * n / m));
  return rows;
}

std::string html_report(const ReportData& d) {
  std::ostringstream s;
  s << "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n<title>" << html_escape(d.title)
    << "</title>\n<style>" << kCss << "</style>\n</head>\n<body>\n<h1>" << html_escape(d.title) << "</h1>\n"
    << "<p class='sub'>" << num(d.cells_embedded) << " cells embedded in "
    << html_escape(Progress::format_duration(d.wall_s)) << " (" << fmt_num(d.cells_per_s) << " cells/s)</p>\n"
    << summary_section(d) << plan_section(d) << throughput_section(d) << pca_section(d)
    << "<p class='note'>Written by uce-run. This file is self-contained: no scripts, no external resources.</p>\n"
    << "</body>\n</html>\n";
  return s.str();
}

Status write_html_report(const std::string& path, const ReportData& d) {
  return write_file_atomic(path, html_report(d));
}

}  // namespace uce::cli
