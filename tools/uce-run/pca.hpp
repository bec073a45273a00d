// pca.hpp — a deterministic 2-D PCA for the report's scatter plot.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace uce::cli {

struct Pca2d {
  std::vector<std::array<double, 2>> points;  // n projections on (PC1, PC2)
  std::array<std::vector<double>, 2> axes;    // unit vectors of length k (zero if rank < 2)
  std::array<double, 2> variance{};           // eigenvalues of the covariance (n-1 denominator)
  double total_variance = 0;                  // trace of the covariance
};

// Centres the rows of x [n x k] (row-major), forms the k x k covariance in double precision and
// finds its top two eigenvectors by subspace iteration with Rayleigh-Ritz (12 vectors, fixed start,
// residual <= 1e-8 * lambda1 or 300 steps),
// so the result depends only on the data. Signs: each axis's largest-magnitude component is
// positive. n < 2 gives all-zero points. max_fit_rows > 1 fits the axes (and the mean) on at most
// that many evenly spaced rows and projects all n: the covariance costs n*k*k/2, which for a
// plot's 20k points of 1280-d would be seconds.
Pca2d pca_2d_full(const float* x, int64_t n, int64_t k, int64_t max_fit_rows = 0);

std::vector<std::array<double, 2>> pca_2d(const float* x, int64_t n, int64_t k);

}  // namespace uce::cli
