// rng.hpp — the random streams behind the three sampler modes (cell-sentences.md §3), each
// bit-identical to the numpy 1.24 generator it stands for, so that sentences match numpy's.
//
//   numpy-legacy    Mt19937Legacy          == np.random.seed(s); np.random.choice/shuffle
//   numpy-per-cell  numpy_default_rng(row) == np.random.default_rng(row)
//   per-cell        per_cell_rng(seed,row) == np.random.Generator(np.random.PCG64(
//                                              np.random.SeedSequence([seed & 0xffffffff,
//                                              seed >> 32, row & 0xffffffff, row >> 32])))
//
// The per-cell derivation is a fixed-width SeedSequence over (run seed, row index), so any
// cell's generator is a pure function of those two numbers (never of threads, batches or shards)
// and can be reproduced in Python with the one line above.
//
// All three expose the same two operations the sampler needs:
//   random_double()       a uniform double in [0, 1), as numpy's random()/random_sample()
//   random_interval(max)  a uniform integer in [0, max] by masked rejection, as numpy's
//                         shuffle uses it (RandomState.shuffle AND Generator.shuffle in 1.24;
//                         Lemire's method is used by Generator.integers, not by shuffle).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace uce::sentences {

// numpy RandomState's MT19937: seed(uint32) is the reference init_genrand (numpy's mt19937_seed,
// identical to std::mt19937). Block generator: refill() regenerates all 624 state words in two
// vectorisable passes and tempers them into out_ in a third, so a draw is one array load; the
// word order is exactly the reference generator's (numpy's mt19937_next).
class Mt19937Legacy {
 public:
  static constexpr int kN = 624;
  explicit Mt19937Legacy(uint32_t seed = 0) { this->seed(seed); }
  void seed(uint32_t seed);

  uint32_t next32() {
    if (pos_ == kN) refill();
    return out_[pos_++];
  }
  // numpy's mt19937_next64: the first word is the HIGH half.
  uint64_t next64() {
    const uint64_t hi = next32();
    return (hi << 32) | next32();
  }
  // legacy random_sample: 53 bits from two words, ((a >> 5) * 2^26 + (b >> 6)) / 2^53.
  double random_double() {
    const uint32_t a = next32() >> 5;
    const uint32_t b = next32() >> 6;
    return (a * 67108864.0 + b) / 9007199254740992.0;
  }
  // n calls of random_double() (numpy's random_sample(n)), converted a block at a time.
  void random_doubles(double* out, std::size_t n);
  uint64_t random_interval(uint64_t max);

 private:
  void refill();
  uint32_t state_[kN];  // untempered state words
  uint32_t out_[kN];    // the tempered outputs of the current block
  int pos_ = kN;        // next unread word of out_
};

// numpy.random.SeedSequence (pool size 4, no spawn key): entropy words -> mixed pool ->
// generate_state. Entropy longer than 4 words is folded in exactly as numpy does.
class SeedSequence {
 public:
  explicit SeedSequence(std::span<const uint32_t> entropy);
  // generate_state(n, np.uint64): 2n 32-bit words, paired little-endian into uint64s.
  void generate_state(std::span<uint64_t> out) const;

  // numpy's coercion of one non-negative Python int: 0 -> {0}, otherwise its little-endian
  // 32-bit words without leading zero words. Returns the number of words written (1 or 2).
  static std::size_t int_to_words(uint64_t value, uint32_t out[2]);

 private:
  uint32_t pool_[4];
};

// numpy's PCG64 (pcg_setseq_128, XSL-RR 64-bit output) with numpy's 32-bit buffering.
class Pcg64Numpy {
 public:
  // state = (w0 << 64) | w1, inc seed = (w2 << 64) | w3, from SeedSequence.generate_state(4).
  static Pcg64Numpy from_seed_sequence(const SeedSequence& seq);
  // pcg_setseq_128_srandom_r(initstate, initseq) with the halves given as (high, low).
  Pcg64Numpy(uint64_t state_hi, uint64_t state_lo, uint64_t seq_hi, uint64_t seq_lo);

  // Inline: the sampler draws S of these per cell, and a call per draw was a visible cost.
  uint64_t next64() {
    step();  // numpy advances first, then outputs the new state (XSL-RR)
    const unsigned rot = static_cast<unsigned>(state_hi_ >> 58);
    const uint64_t x = state_hi_ ^ state_lo_;
    return rot == 0 ? x : (x >> rot) | (x << (64 - rot));
  }
  // Low half of a fresh uint64 first, its high half on the next call (numpy's has_uint32).
  uint32_t next32() {
    if (has_buffered_) {
      has_buffered_ = false;
      return buffered_;
    }
    const uint64_t v = next64();
    buffered_ = static_cast<uint32_t>(v >> 32);
    has_buffered_ = true;
    return static_cast<uint32_t>(v);
  }
  // Generator.random(): (next64 >> 11) * 2^-53. Does not touch the 32-bit buffer.
  double random_double() { return static_cast<double>(next64() >> 11) * (1.0 / 9007199254740992.0); }
  // n calls of random_double() (Generator.random(n)).
  void random_doubles(double* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) out[i] = random_double();
  }
  uint64_t random_interval(uint64_t max);

 private:
  void step() {
    __extension__ typedef unsigned __int128 u128;
    constexpr u128 kMult = (static_cast<u128>(2549297995355413924ULL) << 64) | 4865540595714422341ULL;
    const u128 s = ((static_cast<u128>(state_hi_) << 64) | state_lo_) * kMult +
                   ((static_cast<u128>(inc_hi_) << 64) | inc_lo_);
    state_hi_ = static_cast<uint64_t>(s >> 64);
    state_lo_ = static_cast<uint64_t>(s);
  }
  uint64_t state_hi_ = 0, state_lo_ = 0, inc_hi_ = 0, inc_lo_ = 1;
  uint32_t buffered_ = 0;
  bool has_buffered_ = false;
};

// numpy's shuffle of a 1-d array (RandomState.shuffle and Generator.shuffle alike):
// for i = n-1 down to 1, j = random_interval(i), swap(values[i], values[j]).
template <typename T, typename Rng>
void numpy_shuffle(std::span<T> values, Rng& rng) {
  for (std::size_t i = values.size(); i-- > 1;) {
    const auto j = static_cast<std::size_t>(rng.random_interval(i));
    T tmp = values[i];
    values[i] = values[j];
    values[j] = tmp;
  }
}

// np.random.default_rng(seed) for a non-negative integer seed (numpy-per-cell: seed = row index).
Pcg64Numpy numpy_default_rng(uint64_t seed);

// The default `per-cell` mode's generator of one cell (see the header comment for the numpy
// equivalent). run_seed is the configured run seed, row_index the cell's row in the input file.
Pcg64Numpy per_cell_rng(uint64_t run_seed, uint64_t row_index);

}  // namespace uce::sentences
