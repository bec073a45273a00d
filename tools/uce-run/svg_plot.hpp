// svg_plot.hpp — the two inline SVG charts of the HTML report (no JavaScript, no external files).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace uce::cli {

std::string html_escape(const std::string& s);
// Compact number text: "1234", "12.5", "0.0123", "1.2e+06".
std::string fmt_num(double v);
// About `count` round tick values covering [lo, hi] (steps of 1, 2 or 5 x 10^n).
std::vector<double> nice_ticks(double lo, double hi, int count);
// Categorical colour i (a 20-colour palette; it repeats after that).
const char* palette_color(size_t i);
const char* other_color();

struct LineSeries {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y), drawn in x order
};
// A line chart with axes, ticks, axis titles and a legend. Empty input gives a "no data" box.
std::string svg_line_chart(const std::vector<LineSeries>& series, const std::string& x_title,
                           const std::string& y_title, int width, int height);

struct ScatterGroup {
  std::string label;
  const char* color;
  int64_t count;  // points in this group (for the legend)
};
// A scatter plot; group[i] indexes `groups` for point i. Points are drawn in the given order.
std::string svg_scatter(const std::vector<std::array<double, 2>>& points, const std::vector<int>& group,
                        const std::vector<ScatterGroup>& groups, const std::string& x_title,
                        const std::string& y_title, int width, int height);

}  // namespace uce::cli
