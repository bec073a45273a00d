// The guided search equals std::upper_bound (numpy's searchsorted side="right") everywhere,
// including u exactly on a cdf value, one ulp around it, and on bucket edges.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "cdf_search.hpp"

using namespace uce::sentences::detail;

namespace {

std::vector<double> random_cdf(std::mt19937_64& gen, std::size_t n, bool with_plateaus) {
  std::uniform_real_distribution<double> w(0.0, 1.0);
  std::vector<double> cdf(n);
  double run = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double p = (with_plateaus && gen() % 4 == 0) ? 0.0 : std::pow(w(gen), 6.0);  // skewed
    run += p;
    cdf[i] = run;
  }
  if (run == 0) {
    cdf.back() = run = 1.0;
  }
  for (double& c : cdf) c /= run;
  return cdf;
}

}  // namespace

TEST(CdfSearch, MatchesUpperBoundOnEdges) {
  std::mt19937_64 gen(11);
  std::uniform_real_distribution<double> uni(0.0, 1.0);
  std::vector<uint32_t> guide;
  for (std::size_t n : {1u, 2u, 3u, 7u, 64u, 1000u, 4099u}) {
    for (int rep = 0; rep < 5; ++rep) {
      const auto cdf = random_cdf(gen, n, rep % 2 == 1);
      build_guide(cdf.data(), n, guide);
      std::vector<double> us = {0.0, std::nextafter(1.0, 0.0)};
      for (double c : cdf) {
        for (double u : {c, std::nextafter(c, 0.0), std::nextafter(c, 2.0)}) {
          if (u >= 0 && u < 1) us.push_back(u);
        }
      }
      for (std::size_t b = 0; b <= n; ++b) {
        const double e = static_cast<double>(b) / static_cast<double>(n);
        for (double u : {e, std::nextafter(e, 0.0), std::nextafter(e, 2.0)}) {
          if (u >= 0 && u < 1) us.push_back(u);
        }
      }
      for (int i = 0; i < 2000; ++i) us.push_back(uni(gen));
      for (double u : us) {
        const auto want = static_cast<std::size_t>(std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
        ASSERT_EQ(guided_upper_index(cdf.data(), guide.data(), n, u), std::min(want, n - 1))
            << "n " << n << " u " << u;
        ASSERT_EQ(upper_index(cdf.data(), n, u), want) << "n " << n << " u " << u;
      }
    }
  }
}
