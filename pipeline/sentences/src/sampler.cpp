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

namespace {
constexpr int64_t kLog1pTable = 4096;
// float32(log1p(c)) for small counts; one function-local static, fetched once per cell.
const float* log1p_table() {
  static const std::array<float, kLog1pTable> table = [] {
    std::array<float, kLog1pTable> t{};
    for (int64_t c = 0; c < kLog1pTable; ++c) t[c] = static_cast<float>(std::log1p(static_cast<double>(c)));
    return t;
  }();
  return table.data();
}
}  // namespace

float log1p_count(int64_t count) {
  if (count >= 0 && count < kLog1pTable) return log1p_table()[count];
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
  b.token_at_rank_.resize(n);
  for (std::size_t r = 0; r < n; ++r) b.token_at_rank_[r] = genes.token[b.gene_at_rank_[r]];
  // Ranks are ordered by chromosome code first, so each code owns one contiguous rank range.
  b.chrom_rank_begin_.assign(static_cast<std::size_t>(b.chrom_code_count_) + 1, 0);
  for (std::size_t g = 0; g < n; ++g) ++b.chrom_rank_begin_[static_cast<std::size_t>(genes.chrom[g]) + 1];
  for (std::size_t c = 1; c < b.chrom_rank_begin_.size(); ++c) b.chrom_rank_begin_[c] += b.chrom_rank_begin_[c - 1];
  b.genes_ = std::move(genes);
  b.params_ = params;
  return b;
}

void CellWorkspace::begin_cell() {
  entries_.clear();
  sorted_ = true;
  last_gene_ = INT32_MIN;
  status_ = CellStatus::kAllZero;
  sample_size_ = 0;
}

namespace {

// cdf[j] = p[0] + ... + p[j] in double, equal bit for bit to numpy's sequential cumsum.
// When every p >= 2^-29, each p is a multiple of 2^-52 (a float32 has 24 significant bits) and
// every partial sum of them is a multiple of 2^-52 below 2 (the p sum to ~1): exactly
// representable, so ANY association gives the exact, hence the sequential, result. Then four
// contiguous blocks are summed as four independent chains (the one-chain loop is bound by the
// add latency, ~4 cycles per gene) and each block is shifted by the exact sum of those before it.
// Otherwise (a cell with some p < 2^-29, far beyond realistic counts) the plain sequential loop.
void exact_running_sum(const float* p, std::size_t n, double* cdf) {
  float p_min = 1.0f;
  for (std::size_t j = 0; j < n; ++j) p_min = std::min(p_min, p[j]);
  constexpr float kExactMin = 1.0f / 536870912.0f;  // 2^-29
  if (n < 64 || !(p_min >= kExactMin)) {
    double run = 0.0;
    for (std::size_t j = 0; j < n; ++j) {
      run += static_cast<double>(p[j]);
      cdf[j] = run;
    }
    return;
  }
  const std::size_t q = n / 4;  // blocks [0,q) [q,2q) [2q,3q) [3q,n)
  double r0 = 0.0, r1 = 0.0, r2 = 0.0, r3 = 0.0;
  for (std::size_t j = 0; j < q; ++j) {
    r0 += static_cast<double>(p[j]);
    r1 += static_cast<double>(p[q + j]);
    r2 += static_cast<double>(p[2 * q + j]);
    r3 += static_cast<double>(p[3 * q + j]);
    cdf[j] = r0;
    cdf[q + j] = r1;
    cdf[2 * q + j] = r2;
    cdf[3 * q + j] = r3;
  }
  for (std::size_t j = 4 * q; j < n; ++j) {
    r3 += static_cast<double>(p[j]);
    cdf[j] = r3;
  }
  const double off1 = r0, off2 = off1 + r1, off3 = off2 + r2;
  for (std::size_t j = q; j < 2 * q; ++j) cdf[j] += off1;
  for (std::size_t j = 2 * q; j < 3 * q; ++j) cdf[j] += off2;
  for (std::size_t j = 3 * q; j < n; ++j) cdf[j] += off3;
}

}  // namespace

CellStatus CellWorkspace::prepare(const SentenceBuilder& builder) {
  genes_.clear();
  probs_.clear();
  cdf_.clear();
  drawn_count_ = 0;
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
    last_gene_ = entries_.empty() ? INT32_MIN : entries_.back().gene;
  }
  // Write through raw pointers into buffers sized for every entry (no push_back per gene), then
  // trim to the non-zero count. resize() only value-initialises what grows past the last cell.
  const std::size_t m = entries_.size();
  genes_.resize(m);
  probs_.resize(m);
  int32_t* const gene_out = genes_.data();
  float* const prob = probs_.data();
  const float* const table = log1p_table();
  const auto n_genes = static_cast<uint64_t>(builder.gene_count());
  std::size_t nz = 0;
  CellStatus bad = CellStatus::kReady;
  for (const Entry& e : entries_) {
    // A negative gene index wraps to a huge unsigned value: one compare for both bounds.
    if (static_cast<uint64_t>(static_cast<int64_t>(e.gene)) >= n_genes) {
      bad = CellStatus::kBadGeneIndex;
      break;
    }
    if (e.count <= 0) {
      if (e.count < 0) {
        bad = CellStatus::kNegativeCount;
        break;
      }
      continue;
    }
    gene_out[nz] = e.gene;
    prob[nz] = e.count < kLog1pTable ? table[e.count]
                                     : static_cast<float>(std::log1p(static_cast<double>(e.count)));
    ++nz;
  }
  genes_.resize(nz);
  probs_.resize(nz);
  if (bad != CellStatus::kReady) return status_ = bad;
  if (nz == 0) return status_ = CellStatus::kAllZero;

  // The sums below are exact in any order (file comment), so they use four independent
  // accumulators: a single chain of dependent double adds costs ~4 cycles per gene.
  auto exact_sum = [nz](const float* v) {
    double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;
    std::size_t j = 0;
    for (; j + 4 <= nz; j += 4) {
      a0 += static_cast<double>(v[j]);
      a1 += static_cast<double>(v[j + 1]);
      a2 += static_cast<double>(v[j + 2]);
      a3 += static_cast<double>(v[j + 3]);
    }
    for (; j < nz; ++j) a0 += static_cast<double>(v[j]);
    return (a0 + a1) + (a2 + a3);
  };
  const float t = static_cast<float>(exact_sum(prob));
  for (std::size_t j = 0; j < nz; ++j) prob[j] = prob[j] / t;  // torch: float32 tensor / float32 sum
  const float s32 = static_cast<float>(exact_sum(prob));  // numpy casts the float64 sum to float32
  for (std::size_t j = 0; j < nz; ++j) prob[j] = prob[j] / s32;
  cdf_.resize(nz);
  double* const cdf = cdf_.data();
  exact_running_sum(prob, nz, cdf);
  const double last = cdf[nz - 1];
  if (last != 1.0) {
    for (std::size_t j = 0; j < nz; ++j) cdf[j] /= last;
  }
  detail::build_guide(cdf, nz, guide_);
  hits_.assign(nz, 0u);
  return status_ = CellStatus::kReady;
}

template <typename Rng>
void CellWorkspace::draw_impl(const SentenceBuilder& builder, Rng& rng) {
  if (status_ != CellStatus::kReady) return;
  const auto s = static_cast<std::size_t>(builder.params().sample_size);
  const std::size_t n = cdf_.size();
  if (drawn_.size() < s) drawn_.resize(s);
  const double* const cdf = cdf_.data();
  const uint32_t* const guide = guide_.data();
  uint32_t* const hits = hits_.data();
  int32_t* const drawn = drawn_.data();
  std::size_t n_drawn = 0;
  // np.random.choice(..., p): uniforms first, then searchsorted(cdf, u, side="right").
  // The first hit of a gene is recorded without a branch (always store, advance on first hit).
  // The S uniforms are generated first, as numpy does (random_sample(S), then searchsorted), in
  // one bulk call: the generator's block loop then runs apart from the searches.
  if (uniforms_.size() < s) uniforms_.resize(s);
  double* const uniforms = uniforms_.data();
  rng.random_doubles(uniforms, s);
  for (std::size_t i = 0; i < s; ++i) {
    const double u = uniforms[i];
    const std::size_t j = detail::guided_upper_index(cdf, guide, n, u);
    drawn[n_drawn] = static_cast<int32_t>(j);
    n_drawn += static_cast<std::size_t>(hits[j]++ == 0);
  }
  drawn_count_ = n_drawn;
  // np.unique of the drawn chromosomes (ascending): mark the codes, then read the marks back in
  // code order over the range seen (no sort), clearing them for the next cell.
  const int32_t* const chrom = builder.genes().chrom.data();
  const int32_t* const gene_of = genes_.data();
  chrom_seen_.resize(static_cast<std::size_t>(builder.chrom_code_count()), 0);
  uint8_t* const seen = chrom_seen_.data();
  int32_t lo = builder.chrom_code_count(), hi = -1;
  for (std::size_t d = 0; d < n_drawn; ++d) {
    const int32_t c = chrom[gene_of[drawn[d]]];
    seen[c] = 1;
    lo = std::min(lo, c);
    hi = std::max(hi, c);
  }
  chroms_.clear();
  for (int32_t c = lo; c <= hi; ++c) {
    if (seen[c]) {
      seen[c] = 0;
      chroms_.push_back(c);
    }
  }
  // Then Fisher-Yates from the end.
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
  // mark the ranks in a bitmap, then, chromosome by chromosome in the shuffled order, read that
  // chromosome's rank range of the bitmap back in order (O(genes/64 + draws), no sort), clearing
  // the bits for the next cell.
  const std::size_t words = (builder.gene_count() + 63) / 64;
  if (rank_bits_.size() < words) rank_bits_.resize(words, 0);
  if (rank_hits_.size() < builder.gene_count()) rank_hits_.resize(builder.gene_count(), 0);
  uint64_t* const bits = rank_bits_.data();
  uint32_t* const rank_hits = rank_hits_.data();
  for (std::size_t d = 0; d < drawn_count_; ++d) {
    const int32_t j = drawn_[d];
    const auto r = static_cast<std::size_t>(builder.genomic_rank(genes_[j]));
    bits[r >> 6] |= uint64_t{1} << (r & 63);
    rank_hits[r] = hits_[j];
  }

  const SentenceParams& p = builder.params();
  int64_t* const o = out.data();
  std::size_t pos = 0;
  o[pos++] = p.cls_token;
  for (int32_t idx : order_) {
    const int32_t code = chroms_[idx];
    o[pos++] = code + p.chrom_token_offset;
    const auto r_begin = static_cast<std::size_t>(builder.chrom_rank_begin(code));
    const auto r_end = static_cast<std::size_t>(builder.chrom_rank_begin(code + 1));  // > r_begin
    const std::size_t w_last = (r_end - 1) >> 6;
    for (std::size_t w = r_begin >> 6; w <= w_last; ++w) {
      // The part of word w inside [r_begin, r_end).
      uint64_t mask = ~uint64_t{0};
      if (w == (r_begin >> 6)) mask &= ~uint64_t{0} << (r_begin & 63);
      if (w == w_last && (r_end & 63) != 0) mask &= ~(~uint64_t{0} << (r_end & 63));
      uint64_t word = bits[w] & mask;
      bits[w] &= ~mask;
      while (word != 0) {
        const std::size_t r = w * 64 + static_cast<std::size_t>(std::countr_zero(word));
        word &= word - 1;
        const int64_t token = builder.token_at_rank(static_cast<int32_t>(r));
        const uint32_t count = rank_hits[r];
        // Most genes are drawn 1-3 times: write four copies unconditionally (positions past
        // pos + count are overwritten by what follows, and stay inside [0, len)), so the copy
        // has no data-dependent loop; only larger counts take the loop.
        if (pos + 4 <= len) {
          o[pos] = token;
          o[pos + 1] = token;
          o[pos + 2] = token;
          o[pos + 3] = token;
          for (std::size_t c = 4; c < count; ++c) o[pos + c] = token;
        } else {
          for (std::size_t c = 0; c < count; ++c) o[pos + c] = token;
        }
        pos += count;
      }
    }
    o[pos++] = p.close_token;
  }
  return pos;
}

void CellWorkspace::assemble(const SentenceBuilder& builder, std::vector<int64_t>& out) {
  out.resize(sentence_length());
  if (assemble(builder, std::span<int64_t>(out)) == 0) out.clear();
}

}  // namespace uce::sentences
