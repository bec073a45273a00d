// Golden values of cell-sentences.md §3 (numpy 1.24) and raw numpy streams (rng.json).
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "fixtures.hpp"
#include "uce/sentences/rng.hpp"

using namespace uce::sentences;

namespace {

// np.random.choice(5, 12, p) as numpy computes it: float64 cdf / last, searchsorted right.
template <typename Rng>
std::vector<int> numpy_choice(Rng& rng, std::size_t size) {
  float p[5] = {0.1f, 0.0f, 0.25f, 0.05f, 0.6f};
  double s = 0;
  for (float v : p) s += v;
  const float s32 = static_cast<float>(s);
  std::vector<double> cdf;
  double run = 0;
  for (float v : p) {
    run += static_cast<double>(v / s32);
    cdf.push_back(run);
  }
  const double last = cdf.back();
  for (double& c : cdf) c /= last;
  std::vector<int> out;
  for (std::size_t i = 0; i < size; ++i) {
    const double u = rng.random_double();
    out.push_back(static_cast<int>(std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin()));
  }
  return out;
}

std::vector<int> arange(int n) {
  std::vector<int> v(n);
  std::iota(v.begin(), v.end(), 0);
  return v;
}

}  // namespace

TEST(Mt19937Legacy, Seed42FirstWords) {
  Mt19937Legacy rng(42);
  EXPECT_EQ(rng.next32(), 1608637542u);
  EXPECT_EQ(rng.next32(), 3421126067u);
  EXPECT_EQ(rng.next32(), 4083286876u);
}

TEST(Mt19937Legacy, Seed42Doubles) {
  Mt19937Legacy rng(42);
  EXPECT_EQ(rng.random_double(), 0.3745401188473625);
  EXPECT_EQ(rng.random_double(), 0.9507143064099162);
  EXPECT_EQ(rng.random_double(), 0.7319939418114051);
}

TEST(Mt19937Legacy, Seed42ChoiceThenShuffle) {
  Mt19937Legacy rng(42);
  EXPECT_EQ(numpy_choice(rng, 12), (std::vector<int>{3, 4, 4, 4, 2, 2, 0, 4, 4, 4, 0, 4}));
  std::vector<int> a = arange(10);
  numpy_shuffle(std::span<int>(a), rng);
  EXPECT_EQ(a, (std::vector<int>{9, 2, 8, 6, 0, 4, 3, 7, 1, 5}));
}

TEST(Mt19937Legacy, Seed0Shuffle24) {
  Mt19937Legacy rng(0);
  std::vector<int> a = arange(24);
  numpy_shuffle(std::span<int>(a), rng);
  EXPECT_EQ(a, (std::vector<int>{11, 10, 22, 14, 20, 1, 13, 23, 16, 8, 6, 17, 4, 2, 5, 18, 9, 7, 19,
                                 3, 0, 21, 15, 12}));
}

TEST(Mt19937Legacy, ReseedRestartsTheStream) {
  Mt19937Legacy rng(7);
  const uint32_t first = rng.next32();
  rng.next32();
  rng.seed(7);
  EXPECT_EQ(rng.next32(), first);
}

TEST(Pcg64Numpy, DefaultRng0Doubles) {
  Pcg64Numpy rng = numpy_default_rng(0);
  EXPECT_EQ(rng.random_double(), 0.6369616873214543);
  EXPECT_EQ(rng.random_double(), 0.2697867137638703);
  EXPECT_EQ(rng.random_double(), 0.04097352393619469);
}

TEST(Pcg64Numpy, DefaultRng7ChoiceThenShuffle) {
  Pcg64Numpy rng = numpy_default_rng(7);
  EXPECT_EQ(numpy_choice(rng, 12), (std::vector<int>{4, 4, 4, 2, 2, 4, 0, 4, 4, 4, 2, 2}));
  std::vector<int> a = arange(10);
  numpy_shuffle(std::span<int>(a), rng);
  EXPECT_EQ(a, (std::vector<int>{8, 4, 9, 3, 7, 5, 6, 1, 2, 0}));
}

TEST(Pcg64Numpy, SeedSequenceRawStreams) {
  const auto rec = fixtures::read_json("rng.json");
  for (const auto& c : rec["default_rng"]) {
    Pcg64Numpy rng = numpy_default_rng(std::stoull(c["seed"].get<std::string>()));
    for (const auto& raw : c["raw"]) {
      EXPECT_EQ(rng.next64(), std::stoull(raw.get<std::string>())) << "default_rng(" << c["seed"] << ")";
    }
  }
}

TEST(Pcg64Numpy, PerCellStreamsMatchNumpySeedSequence) {
  const auto rec = fixtures::read_json("rng.json");
  for (const auto& c : rec["per_cell"]) {
    Pcg64Numpy rng = per_cell_rng(std::stoull(c["seed"].get<std::string>()),
                                  std::stoull(c["row"].get<std::string>()));
    for (const auto& raw : c["raw"]) {
      EXPECT_EQ(rng.next64(), std::stoull(raw.get<std::string>()))
          << "seed " << c["seed"] << " row " << c["row"];
    }
  }
}

TEST(Pcg64Numpy, DoublesAndBufferedHalvesInterleave) {
  const auto rec = fixtures::read_json("rng.json")["generator_mixed"];
  Pcg64Numpy rng = numpy_default_rng(rec["seed"].get<uint64_t>());
  for (const auto& d : rec["d1"]) EXPECT_EQ(rng.random_double(), d.get<double>());
  std::vector<int> a = arange(37);
  numpy_shuffle(std::span<int>(a), rng);
  EXPECT_EQ(a, rec["shuffle37"].get<std::vector<int>>());
  for (const auto& d : rec["d2"]) EXPECT_EQ(rng.random_double(), d.get<double>());
  std::vector<int> b = arange(5);
  numpy_shuffle(std::span<int>(b), rng);  // may start with a 32-bit half buffered earlier
  EXPECT_EQ(b, rec["shuffle5"].get<std::vector<int>>());
}

TEST(Mt19937Legacy, DoublesThenLongShuffle) {
  const auto rec = fixtures::read_json("rng.json")["legacy_mixed"];
  Mt19937Legacy rng(rec["seed"].get<uint32_t>());
  for (const auto& d : rec["d1"]) EXPECT_EQ(rng.random_double(), d.get<double>());
  std::vector<int> a = arange(37);
  numpy_shuffle(std::span<int>(a), rng);
  EXPECT_EQ(a, rec["shuffle37"].get<std::vector<int>>());
}

TEST(Pcg64Numpy, PerCellStreamsDifferBySeedAndRow) {
  EXPECT_NE(per_cell_rng(1, 0).next64(), per_cell_rng(1, 1).next64());
  EXPECT_NE(per_cell_rng(1, 0).next64(), per_cell_rng(2, 0).next64());
  // The fixed-width derivation keeps (seed, row) pairs apart that a variable-width one would not.
  EXPECT_NE(per_cell_rng(1, (5ULL << 32) | 7).next64(), per_cell_rng((7ULL << 32) | 1, 5).next64());
}

TEST(RandomInterval, ZeroAndRange) {
  Pcg64Numpy rng = numpy_default_rng(3);
  EXPECT_EQ(rng.random_interval(0), 0u);
  for (uint64_t max : {1ULL, 2ULL, 7ULL, 1000ULL, 0xffffffffULL, 0x1ffffffffULL}) {
    for (int i = 0; i < 200; ++i) EXPECT_LE(rng.random_interval(max), max);
  }
}

// The block generator (all 624 words regenerated at once, tempered in a separate pass) against
// the standard library's reference MT19937 (same init_genrand seeding, the generator numpy's
// RandomState uses), over several blocks and seeds.
TEST(Mt19937Legacy, BlockGeneratorEqualsTheReferenceOverManyBlocks) {
  for (uint32_t seed : {0u, 1u, 42u, 5489u, 4294967295u}) {
    std::mt19937 reference(seed);
    Mt19937Legacy rng(seed);
    for (int i = 0; i < 5 * 624 + 17; ++i) {
      ASSERT_EQ(rng.next32(), static_cast<uint32_t>(reference())) << "seed " << seed << " word " << i;
    }
  }
}

// random_doubles(n) is n random_double() calls, each built from the next two reference words,
// also when the stream position is odd (after 32-bit shuffle draws) so that pairs straddle the
// 624-word block boundary, and for counts that end mid-block.
TEST(Mt19937Legacy, BulkDoublesEqualTheReferenceWordPairs) {
  for (int skip : {0, 1, 2, 3, 623, 624, 625, 1247}) {
    for (std::size_t n : {std::size_t{1}, std::size_t{7}, std::size_t{311}, std::size_t{312},
                          std::size_t{313}, std::size_t{1024}, std::size_t{3000}}) {
      std::mt19937 reference(1234);
      Mt19937Legacy rng(1234);
      for (int i = 0; i < skip; ++i) {
        reference();
        rng.next32();
      }
      std::vector<double> bulk(n + 1, -1.0);
      rng.random_doubles(bulk.data(), n);
      for (std::size_t k = 0; k < n; ++k) {
        const uint32_t a = static_cast<uint32_t>(reference()) >> 5;
        const uint32_t b = static_cast<uint32_t>(reference()) >> 6;
        // numpy's random_sample: (a * 67108864.0 + b) / 9007199254740992.0
        ASSERT_EQ(bulk[k], (a * 67108864.0 + b) / 9007199254740992.0) << "skip " << skip << " n " << n << " k " << k;
      }
      EXPECT_EQ(bulk[n], -1.0);  // nothing written past n
      EXPECT_EQ(rng.next32(), static_cast<uint32_t>(reference())) << "stream position after skip " << skip;
    }
  }
}
