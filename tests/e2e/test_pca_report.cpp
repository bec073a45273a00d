// Tests of the 2-D PCA against data whose principal axes are known by construction, and of the
// HTML report's structure.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "pca.hpp"
#include "report.hpp"
#include "svg_plot.hpp"
#include "temp_dir.hpp"

using namespace uce::cli;

namespace {

// Rows c + a_i u + b_i v with orthonormal u, v and sum a = sum b = sum a*b = 0, so the covariance
// is (sum a^2 u u^T + sum b^2 v v^T) / (n - 1): PC1 = u with scores a_i, PC2 = v with scores b_i.
struct KnownPlane {
  static constexpr int n = 8, k = 6;
  double a[n] = {2, 2, -2, -2, 1, 1, -1, -1};
  double b[n] = {1, -1, 1, -1, 1, -1, 1, -1};
  double u[k] = {1.0 / 3, 2.0 / 3, 0, 2.0 / 3, 0, 0};  // largest component (index 1) positive
  double v[k] = {0, 0, 0.6, 0, 0.8, 0};                // largest component (index 4) positive
  double c[k] = {5, -3, 1, 0.5, 2, 7};
  std::vector<float> x;
  KnownPlane() {
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < k; ++j) x.push_back(static_cast<float>(c[j] + a[i] * u[j] + b[i] * v[j]));
  }
};

}  // namespace

TEST(Pca, RecoversAKnownPlaneExactly) {
  KnownPlane p;
  Pca2d r = pca_2d_full(p.x.data(), p.n, p.k);
  ASSERT_EQ(r.points.size(), 8u);
  for (int i = 0; i < p.n; ++i) {
    EXPECT_NEAR(r.points[i][0], p.a[i], 1e-5) << i;
    EXPECT_NEAR(r.points[i][1], p.b[i], 1e-5) << i;
  }
  for (int j = 0; j < p.k; ++j) {
    EXPECT_NEAR(r.axes[0][j], p.u[j], 1e-6);
    EXPECT_NEAR(r.axes[1][j], p.v[j], 1e-6);
  }
  EXPECT_NEAR(r.variance[0], 20.0 / 7, 1e-5);  // sum a^2 / (n-1)
  EXPECT_NEAR(r.variance[1], 8.0 / 7, 1e-5);   // sum b^2 / (n-1)
  EXPECT_NEAR(r.total_variance, 28.0 / 7, 1e-5);
  EXPECT_EQ(pca_2d(p.x.data(), p.n, p.k), r.points);
}

TEST(Pca, TwoByTwoCovariance) {
  // Points (1,1),(-1,-1),(1,-1)*s,(-1,1)*s with s = 0.5: covariance [[5/6, 1/2],[1/2, 5/6]] ...
  // eigenvalues 5/6 +- 1/2 -> 4/3 along (1,1)/sqrt2 and 1/3 along (1,-1)/sqrt2 (sign: first index
  // wins the tie of equal magnitudes, so both axes start positive).
  std::vector<float> x = {1, 1, -1, -1, 0.5f, -0.5f, -0.5f, 0.5f};
  Pca2d r = pca_2d_full(x.data(), 4, 2);
  double s = 1 / std::sqrt(2.0);
  EXPECT_NEAR(r.axes[0][0], s, 1e-9);
  EXPECT_NEAR(r.axes[0][1], s, 1e-9);
  EXPECT_NEAR(r.axes[1][0], s, 1e-9);
  EXPECT_NEAR(r.axes[1][1], -s, 1e-9);
  EXPECT_NEAR(r.variance[0], 4.0 / 3, 1e-9);
  EXPECT_NEAR(r.variance[1], 1.0 / 3, 1e-9);
  EXPECT_NEAR(r.points[0][0], std::sqrt(2.0), 1e-9);
  EXPECT_NEAR(r.points[2][1], s, 1e-9);
}

TEST(Pca, DominantDirectionInHighDimensionWithNoise) {
  // 1280-d like UCE embeddings: a strong direction u (sd 3), a weaker v (sd 1), small noise
  // (sd 0.05, deterministic LCG). PC1 must align with u, PC2 with v.
  const int n = 2000, k = 1280;
  std::vector<double> u(k), v(k);
  for (int j = 0; j < k; ++j) {
    u[j] = std::sin(0.37 * j + 0.1);
    v[j] = std::cos(1.91 * j + 0.7);
  }
  auto normalize = [](std::vector<double>& w) {
    double s = 0;
    for (double e : w) s += e * e;
    for (double& e : w) e /= std::sqrt(s);
  };
  normalize(u);
  double uv = 0;
  for (int j = 0; j < k; ++j) uv += u[j] * v[j];
  for (int j = 0; j < k; ++j) v[j] -= uv * u[j];
  normalize(v);
  uint64_t state = 12345;
  auto uniform = [&state] {  // [-0.5, 0.5)
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state >> 11) * 0x1.0p-53 - 0.5;
  };
  std::vector<float> x(static_cast<size_t>(n) * k);
  for (int i = 0; i < n; ++i) {
    double a = 3 * std::sqrt(12.0) * uniform(), b = std::sqrt(12.0) * uniform();
    for (int j = 0; j < k; ++j)
      x[static_cast<size_t>(i) * k + j] = static_cast<float>(a * u[j] + b * v[j] + 0.05 * std::sqrt(12.0) * uniform());
  }
  Pca2d r = pca_2d_full(x.data(), n, k);
  double c0 = 0, c1 = 0;
  for (int j = 0; j < k; ++j) {
    c0 += r.axes[0][j] * u[j];
    c1 += r.axes[1][j] * v[j];
  }
  EXPECT_GT(std::fabs(c0), 0.999);
  EXPECT_GT(std::fabs(c1), 0.99);
  EXPECT_NEAR(r.variance[0], 9.0, 1.0);  // sd 3 -> variance 9 (sampling error ~ 9 * sqrt(2/n))
  EXPECT_NEAR(r.variance[1], 1.0, 0.15);
  EXPECT_NEAR(r.total_variance, 9.0 + 1.0 + k * 0.0025, 1.2);
  // Fitting the axes on 500 evenly spaced rows (what the report does for large n) finds the same
  // directions and still projects every row.
  Pca2d f = pca_2d_full(x.data(), n, k, 500);
  ASSERT_EQ(f.points.size(), static_cast<size_t>(n));
  double f0 = 0, f1 = 0;
  for (int j = 0; j < k; ++j) {
    f0 += f.axes[0][j] * u[j];
    f1 += f.axes[1][j] * v[j];
  }
  EXPECT_GT(std::fabs(f0), 0.999);
  EXPECT_GT(std::fabs(f1), 0.98);
}

TEST(Pca, DegenerateInputs) {
  std::vector<float> one = {1, 2, 3};
  Pca2d r = pca_2d_full(one.data(), 1, 3);  // one row: nothing to spread
  ASSERT_EQ(r.points.size(), 1u);
  EXPECT_EQ(r.points[0][0], 0.0);
  std::vector<float> same = {1, 2, 1, 2, 1, 2};  // three identical rows
  Pca2d s = pca_2d_full(same.data(), 3, 2);
  for (auto& pt : s.points) {
    EXPECT_EQ(pt[0], 0.0);
    EXPECT_EQ(pt[1], 0.0);
  }
  std::vector<float> line = {0, 1, 2, 3};  // k = 1: one axis only
  Pca2d l = pca_2d_full(line.data(), 4, 1);
  EXPECT_NEAR(l.points[0][0], -1.5, 1e-12);
  EXPECT_EQ(l.points[0][1], 0.0);
}

namespace {

ReportData sample_report(const std::vector<float>& emb, int64_t n, int64_t k) {
  ReportData d;
  d.title = "uce-run report: test <cells>";
  d.date_utc = "2025-01-01T00:00:00Z";
  d.command_line = "uce-run configs/demo.toml";
  d.model = "UCE 4-layer";
  d.backends = "blas";
  d.cells_in_file = n + 2;
  d.cells_embedded = n;
  d.cells_skipped = {{"all-zero counts", 2}};
  d.wall_s = 75;
  d.cells_per_s = static_cast<double>(n) / 75;
  d.backend_plan = {{"layer0.attn.qkv", "blas", "default order"}, {"embed", "reference", "node override"}};
  d.throughput = {{"read", {{0, 0}, {1, 500}, {2, 520}}}, {"model", {{0, 0}, {1, 40}, {2, 42}}}};
  d.embeddings = emb.data();
  d.n = n;
  d.k = k;
  for (int64_t i = 0; i < n; ++i) d.labels.push_back(i % 3 == 0 ? "T cell" : i % 3 == 1 ? "B<cell>" : "NK");
  return d;
}

size_t count(const std::string& s, const std::string& what) {
  size_t c = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++c;
  return c;
}

}  // namespace

TEST(Report, ScatterRowsAreEvenlySpaced) {
  EXPECT_EQ(scatter_rows(10, 4), (std::vector<int64_t>{0, 2, 5, 7}));  // floor(i*10/4)
  EXPECT_EQ(scatter_rows(3, 10), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_TRUE(scatter_rows(0, 10).empty());
}

TEST(Report, SelfContainedHtmlWithChartsAndLabels) {
  const int64_t n = 300, k = 16;
  std::vector<float> emb(n * k);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < k; ++j) emb[i * k + j] = static_cast<float>((i % 3) * (j == 0) + 0.01 * ((i * 7 + j) % 11));
  ReportData d = sample_report(emb, n, k);
  std::string html = html_report(d);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(count(html, "<svg"), 2u);  // throughput + PCA
  EXPECT_EQ(count(html, "<svg"), count(html, "</svg>"));
  EXPECT_EQ(count(html, "<table"), count(html, "</table>"));
  EXPECT_EQ(html.find("http"), std::string::npos);   // no network references
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_NE(html.find("T cell (100)"), std::string::npos);
  EXPECT_NE(html.find("B&lt;cell&gt; (100)"), std::string::npos);  // escaped
  EXPECT_EQ(html.find("B<cell>"), std::string::npos);
  EXPECT_NE(html.find("test &lt;cells&gt;"), std::string::npos);
  EXPECT_NE(html.find("layer0.attn.qkv"), std::string::npos);
  EXPECT_NE(html.find("node override"), std::string::npos);
  EXPECT_NE(html.find(">read<"), std::string::npos);
  EXPECT_NE(html.find(">model<"), std::string::npos);
  EXPECT_EQ(count(html, "r='2.2'"), static_cast<size_t>(n));  // one dot per cell

  d.max_points = 50;  // capped scatter
  std::string capped = html_report(d);
  EXPECT_EQ(count(capped, "r='2.2'"), 50u);

  uce_test::TempDir dir;
  ASSERT_TRUE(write_html_report(dir.str("r.html"), d));
  std::ifstream in(dir.str("r.html"));
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), capped);
}

TEST(Report, ManyLabelsFoldIntoOther) {
  const int64_t n = 60, k = 4;
  std::vector<float> emb(n * k);
  for (int64_t i = 0; i < n * k; ++i) emb[i] = static_cast<float>((i * 37) % 17);
  ReportData d = sample_report(emb, n, k);
  d.labels.clear();
  for (int64_t i = 0; i < n; ++i) d.labels.push_back("type" + std::to_string(i % 30));  // 30 labels x 2
  d.max_categories = 19;
  std::string html = html_report(d);
  EXPECT_NE(html.find("other (11 labels) (22)"), std::string::npos);
  // Without labels: one group, and the note is shown.
  d.labels.clear();
  d.label_note = "obs column 'cell_type' not found";
  std::string plain = html_report(d);
  EXPECT_NE(plain.find("all cells (60)"), std::string::npos);
  EXPECT_NE(plain.find("obs column &#39;cell_type&#39; not found"), std::string::npos);
}

TEST(Report, NoEmbeddingsOrSamples) {
  ReportData d;
  std::string html = html_report(d);
  EXPECT_NE(html.find("No embeddings available"), std::string::npos);
  EXPECT_NE(html.find("no throughput samples"), std::string::npos);
  EXPECT_EQ(html.find("http"), std::string::npos);
}

TEST(Report, NiceTicks) {
  EXPECT_EQ(nice_ticks(-5.5, 5.0, 5), (std::vector<double>{-4, -2, 0, 2, 4}));
  EXPECT_EQ(nice_ticks(0, 1080, 5), (std::vector<double>{0, 200, 400, 600, 800, 1000}));
  std::vector<double> unit = nice_ticks(0, 1, 5);
  ASSERT_EQ(unit.size(), 6u);
  for (size_t i = 0; i < unit.size(); ++i) EXPECT_NEAR(unit[i], 0.2 * static_cast<double>(i), 1e-12);
}
