// rng.cpp — numpy-compatible random streams (see rng.hpp for the numpy equivalents).
#include "uce/sentences/rng.hpp"

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

}  // namespace

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
