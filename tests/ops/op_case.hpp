// op_case.hpp — one test case of the op harness: op parameters, host input tensors (seeded random
// data), and the layout of the output. Cases are described by CaseSpec and built lazily, so only
// one case's tensors are in memory at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "host_tensor.hpp"

namespace uce::ops_test {

// SplitMix64: tiny, fast, and identical on every compiler/libstdc++ (std::*_distribution is not).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform(double lo, double hi) { return lo + (hi - lo) * (static_cast<double>(next() >> 11) * 0x1.0p-53); }
  int64_t below(int64_t n) { return static_cast<int64_t>(next() % static_cast<uint64_t>(n)); }

 private:
  uint64_t state_;
};

struct OpCase {
  std::string label;       // human-readable parameters, unique within its op
  std::string variant;     // row of the support table: op name plus non-f32 dtypes
  int type = 0;            // uce_op_type
  int activation = UCE_ACT_NONE;
  int n_heads = 0;
  float eps = 0.0f;
  float scale = 1.0f;
  std::vector<std::optional<HostTensor>> srcs;  // nullopt = optional input absent
  HostTensor dst;                               // layout (and dtype) of the output
  bool big = false;                             // a real UCE shape: slow on the reference backend
};

struct CaseSpec {
  int type = 0;
  std::string label;
  std::string variant;
  bool big = false;
  std::function<OpCase()> make;
};

// Every case of every op (big ones included; the caller filters).
std::vector<CaseSpec> all_case_specs();

}  // namespace uce::ops_test
