// sampler.cpp — cell-sentences.md §2 over a cell's non-zero genes only (see sampler.hpp).
//
// Why the sums are order-independent: every l_g = float32(log1p(c)) with c >= 1 is >= 0.69, a
// multiple of 2^-24, and a cell's total stays far below 2^29, so each partial double sum is a
// multiple of 2^-24 below 2^29: exactly representable. The double sum IS the exact sum, whatever
// the order or the zeros in between; numpy's pairwise sum, Python's sequential sum and ours agree.
// The same argument holds for s = sum(w_g) (w_g >= 2^-43 for any realistic cell, s ~ 1).
#include "uce/sentences/sampler.hpp"

#include "cdf_search.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <numeric>
#include <string>

namespace uce::sentences {

Result<SamplerMode> parse_sampler_mode(std::string_view text) {
  if (text == "per-cell") return SamplerMode::kPerCell;
  if (text == "numpy-per-cell") return SamplerMode::kNumpyPerCell;
  if (text == "numpy-legacy") return SamplerMode::kNumpyLegacy;
  return Result<SamplerMode>::error("sampler: got \"" + std::string(text) +
                                    "\", expected one of per-cell, numpy-per-cell, numpy-legacy");
}

std::string_view to_string(SamplerMode mode) {
  switch (mode) {
    case SamplerMode::kPerCell: return "per-cell";
    case SamplerMode::kNumpyPerCell: return "numpy-per-cell";
    case SamplerMode::kNumpyLegacy: return "numpy-legacy";
  }
  return "?";
}

std::string_view to_string(CellStatus status) {
  switch (status) {
    case CellStatus::kReady: return "ready";
    case CellStatus::kAllZero: return "all counts zero";
    case CellStatus::kNegativeCount: return "negative count";
    case CellStatus::kBadGeneIndex: return "gene index outside the gene table";
  }
  return "?";
}

float log1p_count(int64_t count) {
  constexpr int64_t kTable = 4096;
  static const std::array<float, kTable> table = [] {
    std::array<float, kTable> t{};
    for (int64_t c = 0; c < kTable; ++c) t[c] = static_cast<float>(std::log1p(static_cast<double>(c)));
    return t;
  }();
  if (count >= 0 && count < kTable) return table[count];
  return static_cast<float>(std::log1p(static_cast<double>(count)));
}

Result<SentenceBuilder> SentenceBuilder::create(GeneTable genes, SentenceParams params) {
  using R = Result<SentenceBuilder>;
  const std::size_t n = genes.token.size();
  if (genes.chrom.size() != n || genes.start.size() != n) {
    return R::error("sentence gene table: token, chrom and start have sizes " +
                    std::to_string(n) + ", " + std::to_string(genes.chrom.size()) + ", " +
                    std::to_string(genes.start.size()) + "; expected equal sizes");
  }
  if (n == 0) return R::error("sentence gene table: no genes; expected at least one kept gene");
  if (n > static_cast<std::size_t>(INT32_MAX)) return R::error("sentence gene table: too many genes");
  if (params.sample_size <= 0) {
    return R::error("sentence params: sample_size is " + std::to_string(params.sample_size) +
                    "; expected > 0");
  }
  SentenceBuilder b;
  int32_t max_chrom = -1;
  for (std::size_t g = 0; g < n; ++g) {
    if (genes.chrom[g] < 0) {
      return R::error("sentence gene table: chrom[" + std::to_string(g) + "] is " +
                      std::to_string(genes.chrom[g]) + "; expected a code >= 0");
    }
    max_chrom = std::max(max_chrom, genes.chrom[g]);
  }
  b.chrom_code_count_ = max_chrom + 1;
  b.gene_at_rank_.resize(n);
  std::iota(b.gene_at_rank_.begin(), b.gene_at_rank_.end(), 0);
  std::sort(b.gene_at_rank_.begin(), b.gene_at_rank_.end(), [&](int32_t a, int32_t c) {
    if (genes.chrom[a] != genes.chrom[c]) return genes.chrom[a] < genes.chrom[c];
    if (genes.start[a] != genes.start[c]) return genes.start[a] < genes.start[c];
    return a < c;  // numpy's sort is not stable; any tie order is accepted by the spec
  });
  b.rank_.resize(n);
  for (std::size_t r = 0; r < n; ++r) b.rank_[b.gene_at_rank_[r]] = static_cast<int32_t>(r);
  b.genes_ = std::move(genes);
  b.params_ = params;
  return b;
}

void CellWorkspace::begin_cell() {
  entries_.clear();
  sorted_ = true;
  status_ = CellStatus::kAllZero;
  sample_size_ = 0;
}

CellStatus CellWorkspace::prepare(const SentenceBuilder& builder) {
  genes_.clear();
  probs_.clear();
  cdf_.clear();
  drawn_.clear();
  chroms_.clear();
  sample_size_ = 0;
  if (!sorted_) {
    std::sort(entries_.begin(), entries_.end(),
              [](const Entry& a, const Entry& b) { return a.gene < b.gene; });
    // Sum repeated genes in place, as a dense conversion would.
    std::size_t out = 0;
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      if (out > 0 && entries_[out - 1].gene == entries_[i].gene) {
        entries_[out - 1].count += entries_[i].count;
      } else {
        entries_[out++] = entries_[i];
      }
    }
    entries_.resize(out);
    sorted_ = true;
  }
  const auto n_genes = static_cast<int64_t>(builder.gene_count());
  double total = 0.0;
  for (const Entry& e : entries_) {
    if (e.gene < 0 || e.gene >= n_genes) return status_ = CellStatus::kBadGeneIndex;
    if (e.count < 0) return status_ = CellStatus::kNegativeCount;
    if (e.count == 0) continue;
    const float l = log1p_count(e.count);
    genes_.push_back(e.gene);
    probs_.push_back(l);
    total += l;  // exact, see the file comment
  }
  if (genes_.empty()) return status_ = CellStatus::kAllZero;

  const float t = static_cast<float>(total);
  double s = 0.0;
  for (float& v : probs_) {
    v = v / t;  // torch: float32 tensor / float32 sum
    s += v;
  }
  const float s32 = static_cast<float>(s);  // numpy casts the float64 scalar to float32
  cdf_.resize(probs_.size());
  double run = 0.0;
  for (std::size_t j = 0; j < probs_.size(); ++j) {
    probs_[j] = probs_[j] / s32;
    run += static_cast<double>(probs_[j]);
    cdf_[j] = run;
  }
  const double last = cdf_.back();
  for (double& c : cdf_) c /= last;
  detail::build_guide(cdf_.data(), cdf_.size(), guide_);
  hits_.assign(genes_.size(), 0u);
  return status_ = CellStatus::kReady;
}

template <typename Rng>
void CellWorkspace::draw_impl(const SentenceBuilder& builder, Rng& rng) {
  if (status_ != CellStatus::kReady) return;
  const auto s = static_cast<std::size_t>(builder.params().sample_size);
  const std::size_t n = cdf_.size();
  drawn_.clear();
  // np.random.choice(..., p): uniforms first, then searchsorted(cdf, u, side="right").
  for (std::size_t i = 0; i < s; ++i) {
    const double u = rng.random_double();
    const std::size_t j = detail::guided_upper_index(cdf_.data(), guide_.data(), n, u);
    if (hits_[j]++ == 0) drawn_.push_back(static_cast<int32_t>(j));
  }
  // np.unique of the drawn chromosomes (ascending), then Fisher-Yates from the end.
  const auto& chrom = builder.genes().chrom;
  chrom_seen_.resize(static_cast<std::size_t>(builder.chrom_code_count()), 0);
  chroms_.clear();
  for (int32_t j : drawn_) {
    const int32_t c = chrom[genes_[j]];
    if (!chrom_seen_[c]) {
      chrom_seen_[c] = 1;
      chroms_.push_back(c);
    }
  }
  std::sort(chroms_.begin(), chroms_.end());
  for (int32_t c : chroms_) chrom_seen_[c] = 0;
  const std::size_t k = chroms_.size();
  order_.resize(k);
  std::iota(order_.begin(), order_.end(), 0);
  numpy_shuffle(std::span<int32_t>(order_), rng);
  sample_size_ = s;
}

void CellWorkspace::draw(const SentenceBuilder& builder, Mt19937Legacy& rng) { draw_impl(builder, rng); }
void CellWorkspace::draw(const SentenceBuilder& builder, Pcg64Numpy& rng) { draw_impl(builder, rng); }

std::size_t CellWorkspace::sentence_length() const {
  if (status_ != CellStatus::kReady || sample_size_ == 0) return 0;
  return 1 + 2 * chroms_.size() + sample_size_;
}

std::size_t CellWorkspace::assemble(const SentenceBuilder& builder, std::span<int64_t> out) {
  const std::size_t len = sentence_length();
  if (len == 0 || out.size() < len) return 0;
  // Genomic order of the distinct drawn genes, by their precomputed (chrom, start, gene) rank:
  // mark the ranks in a bitmap and read it back in order (O(genes/64 + draws), no sort).
  const std::size_t words = (builder.gene_count() + 63) / 64;
  if (rank_bits_.size() < words) rank_bits_.resize(words, 0);
  if (rank_hits_.size() < builder.gene_count()) rank_hits_.resize(builder.gene_count(), 0);
  std::size_t lo_word = words, hi_word = 0;
  for (int32_t j : drawn_) {
    const auto r = static_cast<std::size_t>(builder.genomic_rank(genes_[j]));
    rank_bits_[r >> 6] |= uint64_t{1} << (r & 63);
    rank_hits_[r] = hits_[j];
    lo_word = std::min(lo_word, r >> 6);
    hi_word = std::max(hi_word, r >> 6);
  }
  ranked_.clear();
  for (std::size_t w = lo_word; w <= hi_word && w < words; ++w) {
    uint64_t bits = rank_bits_[w];
    rank_bits_[w] = 0;  // leave the bitmap clear for the next cell
    while (bits != 0) {
      const std::size_t r = w * 64 + static_cast<std::size_t>(std::countr_zero(bits));
      bits &= bits - 1;
      ranked_.push_back((static_cast<int64_t>(r) << 32) | rank_hits_[r]);
    }
  }
  // ranked_ is grouped by chromosome in ascending order, the same order as chroms_.
  const auto& genes = builder.genes();
  group_begin_.assign(chroms_.size() + 1, 0);
  std::size_t group = 0;
  for (std::size_t i = 0; i < ranked_.size(); ++i) {
    const int32_t gene = builder.gene_at_rank(static_cast<int32_t>(ranked_[i] >> 32));
    while (genes.chrom[gene] != chroms_[group]) group_begin_[++group] = static_cast<int32_t>(i);
  }
  group_begin_[chroms_.size()] = static_cast<int32_t>(ranked_.size());
  for (std::size_t g = group + 1; g < chroms_.size(); ++g) group_begin_[g] = group_begin_[chroms_.size()];

  const SentenceParams& p = builder.params();
  std::size_t pos = 0;
  out[pos++] = p.cls_token;
  for (int32_t idx : order_) {
    out[pos++] = chroms_[idx] + p.chrom_token_offset;
    for (int32_t i = group_begin_[idx]; i < group_begin_[idx + 1]; ++i) {
      const int32_t gene = builder.gene_at_rank(static_cast<int32_t>(ranked_[i] >> 32));
      const auto count = static_cast<uint32_t>(ranked_[i] & 0xffffffff);
      std::fill_n(out.begin() + static_cast<std::ptrdiff_t>(pos), count, genes.token[gene]);
      pos += count;
    }
    out[pos++] = p.close_token;
  }
  return pos;
}

void CellWorkspace::assemble(const SentenceBuilder& builder, std::vector<int64_t>& out) {
  out.resize(sentence_length());
  if (assemble(builder, std::span<int64_t>(out)) == 0) out.clear();
}

}  // namespace uce::sentences
