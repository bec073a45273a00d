// pca.cpp — see pca.hpp. Power-type iteration is enough here: only two axes are needed, k is at
// most a few thousand, and a fixed start keeps the answer reproducible.
#include "pca.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace uce::cli {
namespace {

using Vec = std::vector<double>;

double dot(const Vec& a, const Vec& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Modified Gram-Schmidt, twice for numerical safety. Columns that vanish (rank deficiency) become
// zero vectors.
void orthonormalize(std::vector<Vec>& q) {
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t j = 0; j < q.size(); ++j) {
      double before = std::sqrt(dot(q[j], q[j]));
      for (size_t i = 0; i < j; ++i) {
        double r = dot(q[i], q[j]);
        for (size_t t = 0; t < q[j].size(); ++t) q[j][t] -= r * q[i][t];
      }
      double norm = std::sqrt(dot(q[j], q[j]));
      if (norm <= 1e-12 * before || norm == 0) {
        std::fill(q[j].begin(), q[j].end(), 0.0);
        continue;
      }
      for (double& v : q[j]) v /= norm;
    }
  }
}

// Cyclic Jacobi eigen-decomposition of a small symmetric matrix a [m x m] (row-major).
// Returns eigenvalues; v receives eigenvectors as columns.
Vec jacobi_eigen(Vec a, size_t m, Vec& v) {
  v.assign(m * m, 0.0);
  for (size_t i = 0; i < m; ++i) v[i * m + i] = 1.0;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0, diag = 0;
    for (size_t i = 0; i < m; ++i)
      for (size_t j = 0; j < m; ++j) (i == j ? diag : off) += a[i * m + j] * a[i * m + j];
    if (off <= 1e-30 * diag || off == 0) break;
    for (size_t p = 0; p < m; ++p) {
      for (size_t r = p + 1; r < m; ++r) {
        double apr = a[p * m + r];
        if (apr == 0) continue;
        double theta = (a[r * m + r] - a[p * m + p]) / (2 * apr);
        double t = (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
        double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (size_t i = 0; i < m; ++i) {  // A <- A J (columns p, r)
          double aip = a[i * m + p], air = a[i * m + r];
          a[i * m + p] = c * aip - s * air;
          a[i * m + r] = s * aip + c * air;
        }
        for (size_t i = 0; i < m; ++i) {  // A <- J^T A (rows p, r)
          double api = a[p * m + i], ari = a[r * m + i];
          a[p * m + i] = c * api - s * ari;
          a[r * m + i] = s * api + c * ari;
        }
        for (size_t i = 0; i < m; ++i) {  // V <- V J
          double vip = v[i * m + p], vir = v[i * m + r];
          v[i * m + p] = c * vip - s * vir;
          v[i * m + r] = s * vip + c * vir;
        }
      }
    }
  }
  Vec w(m);
  for (size_t i = 0; i < m; ++i) w[i] = a[i * m + i];
  return w;
}

// Deterministic start values in [-1, 1) (splitmix64).
double start_value(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-52 - 1.0;
}

}  // namespace

Pca2d pca_2d_full(const float* x, int64_t n, int64_t k, int64_t max_fit_rows) {
  Pca2d out;
  out.points.assign(static_cast<size_t>(std::max<int64_t>(n, 0)), {0.0, 0.0});
  const size_t K = static_cast<size_t>(std::max<int64_t>(k, 0));
  out.axes = {Vec(K, 0.0), Vec(K, 0.0)};
  if (n < 2 || k < 1) return out;

  // Rows the axes are fitted on: all, or evenly spaced ones.
  const int64_t nf = max_fit_rows >= 2 ? std::min(n, max_fit_rows) : n;
  auto fit_row = [&](int64_t i) -> const float* {
    int64_t r = nf == n ? i : static_cast<int64_t>(static_cast<long double>(i) * n / nf);
    return x + static_cast<size_t>(r) * K;
  };

  Vec mean(K, 0.0);
  for (int64_t i = 0; i < nf; ++i) {
    const float* xi = fit_row(i);
    for (size_t j = 0; j < K; ++j) mean[j] += xi[j];
  }
  for (double& m : mean) m /= static_cast<double>(nf);

  // Covariance, upper triangle, in blocks of rows so that each row of C is updated by the whole
  // block while it sits in cache (C itself is k*k doubles, 13 MB for k = 1280).
  constexpr size_t kBlock = 32;
  Vec cov(K * K, 0.0), blk(kBlock * K);
  for (int64_t i0 = 0; i0 < nf; i0 += static_cast<int64_t>(kBlock)) {
    const size_t bn = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(kBlock), nf - i0));
    for (size_t t = 0; t < bn; ++t) {
      const float* xi = fit_row(i0 + static_cast<int64_t>(t));
      for (size_t j = 0; j < K; ++j) blk[t * K + j] = xi[j] - mean[j];
    }
    for (size_t a = 0; a < K; ++a) {
      double* c = cov.data() + a * K;
      for (size_t t = 0; t < bn; ++t) {
        const double* r = blk.data() + t * K;
        const double ra = r[a];
        for (size_t b = a; b < K; ++b) c[b] += ra * r[b];
      }
    }
  }
  const double denom = static_cast<double>(nf - 1);
  for (size_t a = 0; a < K; ++a)
    for (size_t b = a; b < K; ++b) cov[b * K + a] = cov[a * K + b] = cov[a * K + b] / denom;
  for (size_t a = 0; a < K; ++a) out.total_variance += cov[a * K + a];
  if (out.total_variance <= 0) return out;

  const size_t m = std::min<size_t>(K, 12);
  std::vector<Vec> q(m, Vec(K));
  uint64_t seed = 0x5ca1ab1e;
  for (auto& col : q)
    for (double& v : col) v = start_value(seed);
  orthonormalize(q);

  std::vector<Vec> w(m, Vec(K));
  Vec ritz(m, 0.0), V, qt(K * m), acc(m);
  // A plot needs no more than ~1e-8; nearly equal eigenvalues converge slowly, hence the cap.
  for (int iter = 0; iter < 300; ++iter) {
    // W = C Q, streaming C once: Q is laid out [K x m] so the m sums of a row of C update a
    // contiguous accumulator (vectorisable), and each row of C is read from memory only once.
    for (size_t b = 0; b < K; ++b)
      for (size_t c = 0; c < m; ++c) qt[b * m + c] = q[c][b];
    for (size_t a = 0; a < K; ++a) {
      const double* ca = cov.data() + a * K;
      std::fill(acc.begin(), acc.end(), 0.0);
      for (size_t b = 0; b < K; ++b) {
        const double cab = ca[b];
        const double* qb = qt.data() + b * m;
        for (size_t c = 0; c < m; ++c) acc[c] += cab * qb[c];
      }
      for (size_t c = 0; c < m; ++c) w[c][a] = acc[c];
    }
    Vec t(m * m);  // T = Q^T C Q (symmetrised)
    for (size_t i = 0; i < m; ++i)
      for (size_t j = 0; j < m; ++j) t[i * m + j] = 0.5 * (dot(q[i], w[j]) + dot(q[j], w[i]));
    Vec lam = jacobi_eigen(t, m, V);
    std::vector<size_t> order(m);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return lam[a] > lam[b]; });
    // Ritz vectors u = Q v and residuals ||C u - lambda u|| = ||W v - lambda Q v|| of the top two.
    std::vector<Vec> u(m, Vec(K, 0.0)), cu(m, Vec(K, 0.0));
    for (size_t c = 0; c < m; ++c)
      for (size_t i = 0; i < m; ++i) {
        double vic = V[i * m + order[c]];
        for (size_t a = 0; a < K; ++a) {
          u[c][a] += q[i][a] * vic;
          cu[c][a] += w[i][a] * vic;
        }
      }
    double worst = 0;
    for (size_t c = 0; c < std::min<size_t>(2, m); ++c) {
      double r = 0;
      for (size_t a = 0; a < K; ++a) {
        double d = cu[c][a] - lam[order[c]] * u[c][a];
        r += d * d;
      }
      worst = std::max(worst, std::sqrt(r));
    }
    for (size_t c = 0; c < m; ++c) ritz[c] = lam[order[c]];
    q = std::move(u);
    if (worst <= 1e-8 * lam[order[0]]) break;
    q = cu;  // next block: C times the Ritz vectors, re-orthonormalised
    orthonormalize(q);
  }

  for (size_t c = 0; c < std::min<size_t>(2, m); ++c) {
    Vec axis = q[c];
    size_t big = 0;
    for (size_t a = 1; a < K; ++a)
      if (std::fabs(axis[a]) > std::fabs(axis[big])) big = a;
    if (axis[big] < 0)
      for (double& v : axis) v = -v;
    out.axes[c] = std::move(axis);
    out.variance[c] = std::max(0.0, ritz[c]);
  }
  for (int64_t i = 0; i < n; ++i) {
    const float* xi = x + static_cast<size_t>(i) * K;
    double p0 = 0, p1 = 0;
    for (size_t a = 0; a < K; ++a) {
      double d = xi[a] - mean[a];
      p0 += d * out.axes[0][a];
      p1 += d * out.axes[1][a];
    }
    out.points[static_cast<size_t>(i)] = {p0, p1};
  }
  return out;
}

std::vector<std::array<double, 2>> pca_2d(const float* x, int64_t n, int64_t k) {
  return pca_2d_full(x, n, k, 0).points;
}

}  // namespace uce::cli
