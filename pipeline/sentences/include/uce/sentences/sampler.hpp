// sampler.hpp — one cell's counts -> one sentence of token ids (cell-sentences.md §2, §3).
//
// The work is split in three phases so that a run can be parallel even in numpy-legacy mode,
// where ONE random stream must be consumed cell after cell in row order:
//
//   A  ws.prepare(builder)        deterministic: log1p, normalisations, cdf       (any thread)
//   B  ws.draw(builder, rng)      the S uniforms + binary searches + the shuffle  (row order for
//                                 numpy-legacy; any thread for per-cell modes)
//   C  ws.assemble(builder, out)  deterministic: genomic order, token ids         (any thread)
//
// One CellWorkspace holds one cell between the phases and keeps its buffers for the next cell,
// so the hot path does not allocate once the buffers have grown. A workspace is used by one thread
// at a time; a SentenceBuilder is immutable and shared by all threads.
//
// Exactness (checked token for token against numpy in tests/sentences):
//   l_g = log1p(c_g) as float32: the float32 rounding of the double log1p.
//   T   = float32 sum of l: the exact sum rounded to float32 (a double sum of these values is
//         exact in any order, see sampler.cpp).
//   w_g = l_g / T in float32; s = float64 sum of w (exact in any order, as Python's sum);
//   p_g = w_g / float32(s) in float32 (numpy 1.x casts the float64 scalar to float32 first).
//   cdf = float64 running sum of p over the genes in file order, divided by its last element;
//   draw = first gene whose cdf > u. Genes with zero count add exactly 0 to the cdf and are never
//   drawn, so the work runs over the cell's non-zero genes only with the same result as numpy's
//   full-vector np.random.choice.
#pragma once

#include <cstddef>
#include <climits>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "uce/sentences/rng.hpp"
#include "uce/status.hpp"

namespace uce::sentences {

enum class SamplerMode { kPerCell, kNumpyPerCell, kNumpyLegacy };

// "per-cell" | "numpy-per-cell" | "numpy-legacy"; an error names the accepted spellings.
Result<SamplerMode> parse_sampler_mode(std::string_view text);
std::string_view to_string(SamplerMode mode);

struct SentenceParams {
  int32_t sample_size = 1024;          // S, draws per cell
  int64_t cls_token = 3;               // original UCE ids; UCE-brain: 1, 2000, 0, 1000
  int64_t close_token = 2;
  int64_t pad_token = 0;               // not written by the sampler; kept for the batcher
  int64_t chrom_token_offset = 143574; // chromosome token = chromosome code + offset
};

// One entry per kept gene (index = kept-gene index, in the file's gene order).
struct GeneTable {
  std::vector<int64_t> token;  // gene token id
  std::vector<int32_t> chrom;  // chromosome code (>= 0)
  std::vector<int64_t> start;  // genomic start position
};

enum class CellStatus : uint8_t {
  kReady,          // sentence can be (or was) built
  kAllZero,        // no positive count: no sentence; report and skip (consumes no randomness)
  kNegativeCount,  // a count < 0 (numpy would refuse p); report and skip, consumes nothing
  kBadGeneIndex,   // a gene index >= the table size: a caller bug
};
std::string_view to_string(CellStatus status);

class SentenceBuilder {
 public:
  static Result<SentenceBuilder> create(GeneTable genes, SentenceParams params);

  const SentenceParams& params() const { return params_; }
  const GeneTable& genes() const { return genes_; }
  std::size_t gene_count() const { return genes_.token.size(); }
  // Rank of a kept gene in (chromosome, start, gene index) order.
  int32_t genomic_rank(int32_t gene) const { return rank_[gene]; }
  int32_t gene_at_rank(int32_t rank) const { return gene_at_rank_[rank]; }
  int32_t chrom_code_count() const { return chrom_code_count_; }
  // Per genomic rank (so that assembly reads one array, not gene_at_rank then the table):
  int64_t token_at_rank(int32_t rank) const { return token_at_rank_[rank]; }
  // Ranks of chromosome code c are [chrom_rank_begin(c), chrom_rank_begin(c + 1)).
  int32_t chrom_rank_begin(int32_t code) const { return chrom_rank_begin_[code]; }

 private:
  GeneTable genes_;
  SentenceParams params_;
  std::vector<int32_t> rank_;
  std::vector<int32_t> gene_at_rank_;
  std::vector<int64_t> token_at_rank_;
  std::vector<int32_t> chrom_rank_begin_;  // chrom_code_count_ + 1 entries
  int32_t chrom_code_count_ = 0;
};

class CellWorkspace {
 public:
  // Start a new cell (keeps buffer capacity).
  void begin_cell();
  // One stored entry of the cell: kept-gene index and integer count. Any order; repeated genes
  // are summed (as scipy's toarray does); zero counts are allowed and ignored.
  void add(int32_t gene, int64_t count) {
    if (gene <= last_gene_) sorted_ = false;
    last_gene_ = gene;
    entries_.push_back({gene, count});
  }

  // Phase A. Returns kReady when the cell has a sentence.
  CellStatus prepare(const SentenceBuilder& builder);
  // Phase B: consumes exactly S doubles, then the shuffle of the k distinct chromosomes
  // (numpy: choice then shuffle). Requires prepare() == kReady.
  void draw(const SentenceBuilder& builder, Mt19937Legacy& rng);
  void draw(const SentenceBuilder& builder, Pcg64Numpy& rng);
  // Length of the sentence after draw(): 1 + 2k + S.
  std::size_t sentence_length() const;
  // Phase C: writes the sentence into out[0, sentence_length()); out must be large enough
  // (returns 0 and writes nothing otherwise). Returns the length written.
  std::size_t assemble(const SentenceBuilder& builder, std::span<int64_t> out);
  // Phase C into a vector (resized to the sentence length).
  void assemble(const SentenceBuilder& builder, std::vector<int64_t>& out);

  // Inspection (tests, reports): the non-zero genes (ascending) and their p_g after prepare().
  std::span<const int32_t> nonzero_genes() const { return genes_; }
  std::span<const float> probabilities() const { return probs_; }
  CellStatus status() const { return status_; }

 private:
  template <typename Rng>
  void draw_impl(const SentenceBuilder& builder, Rng& rng);

  struct Entry {
    int32_t gene;
    int64_t count;
  };
  std::vector<Entry> entries_;
  bool sorted_ = true;
  int32_t last_gene_ = INT32_MIN;  // the gene of the last add() (INT32_MIN: none yet)
  CellStatus status_ = CellStatus::kAllZero;

  std::vector<int32_t> genes_;     // non-zero genes, ascending
  std::vector<float> probs_;       // p_g (float32)
  std::vector<double> cdf_;        // normalised cdf over the non-zero genes
  std::vector<uint32_t> guide_;    // per bucket of u: first candidate index into cdf_
  std::vector<uint32_t> hits_;     // draws per non-zero gene (zero outside draw())
  std::vector<double> uniforms_;   // the S uniforms of draw()
  std::vector<int32_t> drawn_;     // [0, drawn_count_): positions in genes_ drawn at least once
  std::size_t drawn_count_ = 0;
  std::vector<uint8_t> chrom_seen_;  // all zero between calls
  std::vector<int32_t> chroms_;    // distinct chromosome codes drawn, ascending
  std::vector<int32_t> order_;     // shuffled indices into chroms_
  std::vector<uint64_t> rank_bits_;  // bitmap over genomic ranks, all zero between calls
  std::vector<uint32_t> rank_hits_;  // hits by genomic rank (only marked entries are read)
  std::size_t sample_size_ = 0;
};

// Phases A+B+C for the per-cell modes. out is resized to the sentence (empty when not kReady).
template <typename Rng>
CellStatus build_sentence(const SentenceBuilder& builder, CellWorkspace& ws, Rng& rng,
                          std::vector<int64_t>& out) {
  const CellStatus st = ws.prepare(builder);
  if (st != CellStatus::kReady) {
    out.clear();
    return st;
  }
  ws.draw(builder, rng);
  ws.assemble(builder, out);
  return st;
}

// float32 log1p of an integer count, as the sampler computes it (table for small counts).
float log1p_count(int64_t count);

}  // namespace uce::sentences
