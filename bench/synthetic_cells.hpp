// synthetic_cells.hpp — the data-path benchmark's synthetic input: a gene table (20,000 genes on
// ~25 chromosomes with random starts) and CSR cells with ~3,000 expressed genes each, counts
// drawn gamma-Poisson (negative binomial, dispersed like UMI counts: most counts 1-3, a long tail).
// Deterministic from one seed, and written as .npy files so that the Python baseline reads the
// very same cells (no attempt to reproduce C++ random streams in Python).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace uce::bench {

struct SyntheticGenes {
  std::vector<int64_t> token;
  std::vector<int32_t> chrom;
  std::vector<int64_t> start;
};

struct SyntheticCells {
  int64_t n_genes = 0;
  std::vector<int64_t> indptr{0};
  std::vector<int32_t> indices;  // ascending within a row
  std::vector<int64_t> counts;   // >= 1
  int64_t n_cells() const { return static_cast<int64_t>(indptr.size()) - 1; }
};

inline SyntheticGenes make_genes(int64_t n_genes, int32_t n_chroms, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> chrom(0, n_chroms - 1);
  std::uniform_int_distribution<int64_t> start(1, 250'000'000);
  SyntheticGenes g;
  for (int64_t i = 0; i < n_genes; ++i) {
    g.token.push_back(1000 + i);  // any distinct ids; the sampler only copies them
    g.chrom.push_back(chrom(rng));
    g.start.push_back(start(rng));
  }
  return g;
}

// Each cell: ~mean_expressed genes (normal spread, 10%), chosen with a skewed gene popularity so
// that some genes are expressed in most cells (like housekeeping genes); count = 1 + Poisson(
// Gamma(shape 0.6, scale gene mean)) — the negative-binomial shape of UMI counts.
inline SyntheticCells make_cells(int64_t n_cells, int64_t n_genes, int64_t mean_expressed, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<double> gene_mean(static_cast<size_t>(n_genes));
  std::lognormal_distribution<double> mean_dist(0.0, 1.0);
  for (auto& m : gene_mean) m = mean_dist(rng);
  std::normal_distribution<double> size_dist(static_cast<double>(mean_expressed), 0.1 * static_cast<double>(mean_expressed));
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  SyntheticCells c;
  c.n_genes = n_genes;
  const double base = static_cast<double>(mean_expressed) / static_cast<double>(n_genes);
  for (int64_t r = 0; r < n_cells; ++r) {
    const double want = std::max(100.0, size_dist(rng));
    const double scale = want / static_cast<double>(mean_expressed);
    for (int64_t g = 0; g < n_genes; ++g) {
      // popularity in [0.3, 1.7] x base x the cell's size: expected hits ~= want
      const double pop = 0.3 + 1.4 * static_cast<double>((g * 2654435761u) % 1000) / 999.0;
      if (unit(rng) >= base * pop * scale) continue;
      std::gamma_distribution<double> gamma(0.6, gene_mean[static_cast<size_t>(g)] * 2.0);
      std::poisson_distribution<int64_t> pois(gamma(rng) + 1e-12);
      c.indices.push_back(static_cast<int32_t>(g));
      c.counts.push_back(1 + pois(rng));
    }
    c.indptr.push_back(static_cast<int64_t>(c.indices.size()));
  }
  return c;
}

// A 1-D little-endian .npy (format 1.0) of int64 or int32.
template <typename T>
bool write_npy(const std::string& path, const std::vector<T>& v) {
  static_assert(sizeof(T) == 8 || sizeof(T) == 4);
  std::string header = std::string("{'descr': '<i") + (sizeof(T) == 8 ? "8" : "4") +
                       "', 'fortran_order': False, 'shape': (" + std::to_string(v.size()) + ",), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  const unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                 static_cast<unsigned char>(header.size() & 0xff),
                                 static_cast<unsigned char>(header.size() >> 8)};
  bool ok = std::fwrite(pre, 1, 10, f) == 10 && std::fwrite(header.data(), 1, header.size(), f) == header.size() &&
            std::fwrite(v.data(), sizeof(T), v.size(), f) == v.size();
  return std::fclose(f) == 0 && ok;
}

}  // namespace uce::bench
