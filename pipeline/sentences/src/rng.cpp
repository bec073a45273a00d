// rng.cpp — numpy-compatible random streams (see rng.hpp for the numpy equivalents).
#include "uce/sentences/rng.hpp"

#include <algorithm>

namespace uce::sentences {
namespace {

__extension__ typedef unsigned __int128 u128;

u128 make128(uint64_t hi, uint64_t lo) { return (static_cast<u128>(hi) << 64) | lo; }

// Smallest 2^m - 1 >= max (numpy's random_interval mask).
uint64_t mask_for(uint64_t max) {
  uint64_t mask = max;
  mask |= mask >> 1;
  mask |= mask >> 2;
  mask |= mask >> 4;
  mask |= mask >> 8;
  mask |= mask >> 16;
  mask |= mask >> 32;
  return mask;
}

// Masked rejection on 32-bit draws when the range fits, on 64-bit draws otherwise.
template <typename Bits>
uint64_t interval(Bits& bits, uint64_t max) {
  if (max == 0) return 0;
  const uint64_t mask = mask_for(max);
  uint64_t value;
  if (max <= 0xffffffffULL) {
    while ((value = (bits.next32() & mask)) > max) {
    }
  } else {
    while ((value = (bits.next64() & mask)) > max) {
    }
  }
  return value;
}

// SeedSequence constants (numpy/random/bit_generator.pyx).
constexpr uint32_t kInitA = 0x43b0d7e5;
constexpr uint32_t kMultA = 0x931e8875;
constexpr uint32_t kInitB = 0x8b51f9dd;
constexpr uint32_t kMultB = 0x58f38ded;
constexpr uint32_t kMixMultL = 0xca01f9dd;
constexpr uint32_t kMixMultR = 0x4973f715;
constexpr int kXShift = 16;

uint32_t hashmix(uint32_t value, uint32_t& hash_const) {
  value ^= hash_const;
  hash_const *= kMultA;
  value *= hash_const;
  value ^= value >> kXShift;
  return value;
}

uint32_t mix(uint32_t x, uint32_t y) {
  uint32_t result = kMixMultL * x - kMixMultR * y;
  result ^= result >> kXShift;
  return result;
}

// MT19937 (Matsumoto & Nishimura 1998; numpy's mt19937.c) constants.
constexpr int kMtM = 397;
constexpr uint32_t kMatrixA = 0x9908b0dfu;
constexpr uint32_t kUpperMask = 0x80000000u;
constexpr uint32_t kLowerMask = 0x7fffffffu;

// One word of the twist: the new value of mt[i] from mt[i], mt[i + 1] and mt[i + M] (mod N).
// The (y & 1) ? MATRIX_A : 0 select is a mask so that the loops below have no branch.
inline uint32_t twist(uint32_t cur, uint32_t next, uint32_t far) {
  const uint32_t y = (cur & kUpperMask) | (next & kLowerMask);
  return far ^ (y >> 1) ^ ((0u - (y & 1u)) & kMatrixA);
}

inline uint32_t temper(uint32_t y) {
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680u;
  y ^= (y << 15) & 0xefc60000u;
  y ^= y >> 18;
  return y;
}

}  // namespace

void Mt19937Legacy::seed(uint32_t seed) {
  // init_genrand: numpy's mt19937_seed(state, seed) for np.random.seed(int).
  state_[0] = seed;
  for (int i = 1; i < kN; ++i) {
    const uint32_t prev = state_[i - 1];
    state_[i] = 1812433253u * (prev ^ (prev >> 30)) + static_cast<uint32_t>(i);
  }
  pos_ = kN;
}

// The reference generator's twist, split into loops without a modulo so that the compiler
// vectorises them: word i reads words i + 1 (not yet rewritten) and i + M. For i < N - M that
// is the previous block's word i + M; for i >= N - M it is word i + M - N of THIS block, written
// 227 iterations earlier (a dependence distance far above any vector width). The last word
// wraps to the new word 0. Then all N words are tempered into out_ in one pass.
void Mt19937Legacy::refill() {
  uint32_t* const mt = state_;
  for (int i = 0; i < kN - kMtM; ++i) mt[i] = twist(mt[i], mt[i + 1], mt[i + kMtM]);
  for (int i = kN - kMtM; i < kN - 1; ++i) mt[i] = twist(mt[i], mt[i + 1], mt[i + kMtM - kN]);
  mt[kN - 1] = twist(mt[kN - 1], mt[0], mt[kMtM - 1]);
  for (int i = 0; i < kN; ++i) out_[i] = temper(mt[i]);
  pos_ = 0;
}

// Same values as n calls of random_double(): each double takes the next two words of the stream.
// Within a block the pairs are converted in one vectorisable loop; the words fit in int32
// (a < 2^27, b < 2^26), so the int -> double conversions are the SIMD-friendly signed ones, and
// (a * 2^26 + b) * 2^-53 is exact, equal to numpy's division by 2^53. A pair that straddles two
// blocks (the stream position is odd after a shuffle's 32-bit draws) takes the scalar path.
void Mt19937Legacy::random_doubles(double* out, std::size_t n) {
  std::size_t i = 0;
  while (i < n) {
    if (pos_ == kN) refill();
    const std::size_t pairs = std::min(n - i, static_cast<std::size_t>(kN - pos_) / 2);
    if (pairs == 0) {
      out[i++] = random_double();
      continue;
    }
    const uint32_t* const w = out_ + pos_;
    double* const o = out + i;
    for (std::size_t k = 0; k < pairs; ++k) {
      const auto a = static_cast<int32_t>(w[2 * k] >> 5);
      const auto b = static_cast<int32_t>(w[2 * k + 1] >> 6);
      o[k] = (static_cast<double>(a) * 67108864.0 + static_cast<double>(b)) * (1.0 / 9007199254740992.0);
    }
    pos_ += static_cast<int>(2 * pairs);
    i += pairs;
  }
}

uint64_t Mt19937Legacy::random_interval(uint64_t max) { return interval(*this, max); }

SeedSequence::SeedSequence(std::span<const uint32_t> entropy) {
  uint32_t hash_const = kInitA;
  for (std::size_t i = 0; i < 4; ++i) {
    pool_[i] = hashmix(i < entropy.size() ? entropy[i] : 0u, hash_const);
  }
  for (std::size_t src = 0; src < 4; ++src) {
    for (std::size_t dst = 0; dst < 4; ++dst) {
      if (src != dst) pool_[dst] = mix(pool_[dst], hashmix(pool_[src], hash_const));
    }
  }
  for (std::size_t src = 4; src < entropy.size(); ++src) {
    for (std::size_t dst = 0; dst < 4; ++dst) {
      pool_[dst] = mix(pool_[dst], hashmix(entropy[src], hash_const));
    }
  }
}

void SeedSequence::generate_state(std::span<uint64_t> out) const {
  uint32_t hash_const = kInitB;
  auto word = [&](std::size_t i) {
    uint32_t v = pool_[i % 4];
    v ^= hash_const;
    hash_const *= kMultB;
    v *= hash_const;
    v ^= v >> kXShift;
    return v;
  };
  for (std::size_t i = 0; i < out.size(); ++i) {
    const uint64_t lo = word(2 * i);
    const uint64_t hi = word(2 * i + 1);
    out[i] = (hi << 32) | lo;
  }
}

std::size_t SeedSequence::int_to_words(uint64_t value, uint32_t out[2]) {
  out[0] = static_cast<uint32_t>(value);
  out[1] = static_cast<uint32_t>(value >> 32);
  return out[1] != 0 ? 2 : 1;
}

Pcg64Numpy Pcg64Numpy::from_seed_sequence(const SeedSequence& seq) {
  uint64_t w[4];
  seq.generate_state(w);
  return Pcg64Numpy(w[0], w[1], w[2], w[3]);
}

Pcg64Numpy::Pcg64Numpy(uint64_t state_hi, uint64_t state_lo, uint64_t seq_hi, uint64_t seq_lo) {
  const u128 inc = (make128(seq_hi, seq_lo) << 1) | 1u;
  inc_hi_ = static_cast<uint64_t>(inc >> 64);
  inc_lo_ = static_cast<uint64_t>(inc);
  state_hi_ = state_lo_ = 0;
  step();
  const u128 s = make128(state_hi_, state_lo_) + make128(state_hi, state_lo);
  state_hi_ = static_cast<uint64_t>(s >> 64);
  state_lo_ = static_cast<uint64_t>(s);
  step();
}

uint64_t Pcg64Numpy::random_interval(uint64_t max) { return interval(*this, max); }

Pcg64Numpy numpy_default_rng(uint64_t seed) {
  uint32_t words[2];
  const std::size_t n = SeedSequence::int_to_words(seed, words);
  return Pcg64Numpy::from_seed_sequence(SeedSequence(std::span<const uint32_t>(words, n)));
}

Pcg64Numpy per_cell_rng(uint64_t run_seed, uint64_t row_index) {
  const uint32_t words[4] = {static_cast<uint32_t>(run_seed), static_cast<uint32_t>(run_seed >> 32),
                             static_cast<uint32_t>(row_index),
                             static_cast<uint32_t>(row_index >> 32)};
  return Pcg64Numpy::from_seed_sequence(SeedSequence(words));
}

}  // namespace uce::sentences
