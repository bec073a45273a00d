// svg_plot.cpp — see svg_plot.hpp.
#include "svg_plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

namespace uce::cli {

std::string html_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string fmt_num(double v) {
  char buf[32];
  double a = std::fabs(v);
  if (v == 0) return "0";
  if (a >= 1e6 || a < 1e-3) std::snprintf(buf, sizeof buf, "%.3g", v);
  else if (a >= 100) std::snprintf(buf, sizeof buf, "%.0f", v);
  else if (a >= 10) std::snprintf(buf, sizeof buf, "%.1f", v);
  else std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

std::vector<double> nice_ticks(double lo, double hi, int count) {
  if (!(hi > lo)) hi = lo + 1;
  count = std::max(count, 1);
  double raw = (hi - lo) / count;
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = 10 * mag;
  for (double f : {1.0, 2.0, 5.0})  // the finest round step giving at most count + 1 intervals
    if ((hi - lo) / (f * mag) <= count + 1) { step = f * mag; break; }
  std::vector<double> t;
  // Multiples of the step (not a running sum, which drifts).
  for (double i = std::ceil(lo / step - 1e-9); i * step <= hi + step * 1e-9; i += 1)
    t.push_back(i == 0 ? 0.0 : i * step);
  return t;
}

const char* palette_color(size_t i) {
  // Tableau 20, reordered so that the first ten are the strong colours.
  static const char* colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                                 "#e377c2", "#17becf", "#bcbd22", "#393b79", "#aec7e8", "#ffbb78",
                                 "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#9edae5",
                                 "#dbdb8d", "#637939"};
  return colors[i % (sizeof colors / sizeof colors[0])];
}
const char* other_color() { return "#b0b0b0"; }

namespace {

struct Frame {
  double x0, x1, y0, y1;   // data range
  double left, top, w, h;  // plot area in pixels
  double px(double x) const { return left + (x - x0) / (x1 - x0) * w; }
  double py(double y) const { return top + h - (y - y0) / (y1 - y0) * h; }
};

std::string f1(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// Axes, grid, tick labels and titles; ticks decide the final data range.
std::string axes(Frame& f, const std::string& x_title, const std::string& y_title) {
  std::vector<double> xt = nice_ticks(f.x0, f.x1, 6), yt = nice_ticks(f.y0, f.y1, 5);
  std::ostringstream s;
  s << "<rect x='" << f.left << "' y='" << f.top << "' width='" << f.w << "' height='" << f.h
    << "' fill='#fff' stroke='#888'/>\n";
  for (double v : xt) {
    double x = f.px(v);
    s << "<line x1='" << f1(x) << "' y1='" << f.top << "' x2='" << f1(x) << "' y2='" << f.top + f.h
      << "' stroke='#eee'/><text x='" << f1(x) << "' y='" << f.top + f.h + 16
      << "' text-anchor='middle' class='tick'>" << fmt_num(v) << "</text>\n";
  }
  for (double v : yt) {
    double y = f.py(v);
    s << "<line x1='" << f.left << "' y1='" << f1(y) << "' x2='" << f.left + f.w << "' y2='" << f1(y)
      << "' stroke='#eee'/><text x='" << f.left - 6 << "' y='" << f1(y + 4)
      << "' text-anchor='end' class='tick'>" << fmt_num(v) << "</text>\n";
  }
  s << "<text x='" << f.left + f.w / 2 << "' y='" << f.top + f.h + 36
    << "' text-anchor='middle' class='axis'>" << html_escape(x_title) << "</text>\n"
    << "<text transform='translate(" << f.left - 52 << "," << f.top + f.h / 2
    << ") rotate(-90)' text-anchor='middle' class='axis'>" << html_escape(y_title) << "</text>\n";
  return s.str();
}

// Pads a data range by a fraction on both sides (and makes it non-empty).
void pad_range(double& lo, double& hi, double frac) {
  if (!(hi > lo)) { lo -= 1; hi += 1; return; }
  double d = (hi - lo) * frac;
  lo -= d;
  hi += d;
}

std::string no_data(int width, int height, const std::string& what) {
  std::ostringstream s;
  s << "<svg width='" << width << "' height='" << height / 3 << "' role='img'><rect x='1' y='1' width='"
    << width - 2 << "' height='" << height / 3 - 2 << "' fill='#fafafa' stroke='#ccc'/><text x='"
    << width / 2 << "' y='" << height / 6 << "' text-anchor='middle' class='axis'>" << html_escape(what)
    << "</text></svg>\n";
  return s.str();
}

}  // namespace

std::string svg_line_chart(const std::vector<LineSeries>& series, const std::string& x_title,
                           const std::string& y_title, int width, int height) {
  double inf = std::numeric_limits<double>::infinity();
  double x0 = inf, x1 = -inf, y1 = 0;
  for (const auto& sr : series)
    for (auto [x, y] : sr.points) {
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      x0 = std::min(x0, x); x1 = std::max(x1, x); y1 = std::max(y1, y);
    }
  if (!(x1 >= x0)) return no_data(width, height, "no throughput samples recorded");
  if (!(x1 > x0)) x1 = x0 + 1;
  if (!(y1 > 0)) y1 = 1;
  const double legend_w = 170;
  Frame f{x0, x1, 0, y1 * 1.08, 70, 14, width - 70 - 20 - legend_w, static_cast<double>(height) - 14 - 50};
  std::vector<double> xt = nice_ticks(f.x0, f.x1, 6), yt = nice_ticks(f.y0, f.y1, 5);
  f.x1 = std::max(f.x1, xt.back());
  f.y1 = std::max(f.y1, yt.back());
  std::ostringstream s;
  s << "<svg width='" << width << "' height='" << height << "' role='img'>\n" << axes(f, x_title, y_title);
  for (size_t i = 0; i < series.size(); ++i) {
    auto pts = series[i].points;
    std::stable_sort(pts.begin(), pts.end(), [](auto& a, auto& b) { return a.first < b.first; });
    s << "<polyline fill='none' stroke-width='2' stroke='" << palette_color(i) << "' points='";
    for (auto [x, y] : pts)
      if (std::isfinite(x) && std::isfinite(y)) s << f1(f.px(x)) << ',' << f1(f.py(y)) << ' ';
    s << "'/>\n";
    double ly = f.top + 10 + 20.0 * static_cast<double>(i);
    double lx = f.left + f.w + 16;
    s << "<line x1='" << lx << "' y1='" << ly << "' x2='" << lx + 18 << "' y2='" << ly << "' stroke-width='3' stroke='"
      << palette_color(i) << "'/><text x='" << lx + 24 << "' y='" << ly + 4 << "' class='legend'>"
      << html_escape(series[i].name) << "</text>\n";
  }
  s << "</svg>\n";
  return s.str();
}

std::string svg_scatter(const std::vector<std::array<double, 2>>& points, const std::vector<int>& group,
                        const std::vector<ScatterGroup>& groups, const std::string& x_title,
                        const std::string& y_title, int width, int height) {
  if (points.empty()) return no_data(width, height, "no embeddings to plot");
  double inf = std::numeric_limits<double>::infinity();
  double x0 = inf, x1 = -inf, y0 = inf, y1 = -inf;
  for (auto& p : points) {
    x0 = std::min(x0, p[0]); x1 = std::max(x1, p[0]);
    y0 = std::min(y0, p[1]); y1 = std::max(y1, p[1]);
  }
  pad_range(x0, x1, 0.03);
  pad_range(y0, y1, 0.03);
  const double legend_w = 260;
  Frame f{x0, x1, y0, y1, 70, 14, width - 70 - 20 - legend_w, static_cast<double>(height) - 14 - 50};
  std::ostringstream s;
  s << "<svg width='" << width << "' height='" << height << "' role='img'>\n" << axes(f, x_title, y_title);
  // One <g> per group keeps the file small (the fill is not repeated per point).
  for (size_t g = 0; g < groups.size(); ++g) {
    s << "<g fill='" << groups[g].color << "' fill-opacity='0.75'>";
    for (size_t i = 0; i < points.size(); ++i)
      if (group[i] == static_cast<int>(g))
        s << "<circle cx='" << f1(f.px(points[i][0])) << "' cy='" << f1(f.py(points[i][1])) << "' r='2.2'/>";
    s << "</g>\n";
  }
  for (size_t g = 0; g < groups.size(); ++g) {
    double ly = f.top + 10 + 18.0 * static_cast<double>(g);
    double lx = f.left + f.w + 16;
    s << "<circle cx='" << lx + 5 << "' cy='" << ly << "' r='5' fill='" << groups[g].color << "'/><text x='"
      << lx + 16 << "' y='" << ly + 4 << "' class='legend'>" << html_escape(groups[g].label) << " ("
      << groups[g].count << ")</text>\n";
  }
  s << "</svg>\n";
  return s.str();
}

}  // namespace uce::cli
